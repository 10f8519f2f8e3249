using System.Buffers.Binary;

namespace Zeroshot.Metrics.Linux.Net;

/// <summary>One TCP socket as reported by NETLINK_SOCK_DIAG (a dump reply or a destroy notification).</summary>
/// <param name="Family">AF_INET (2) or AF_INET6 (10).</param>
/// <param name="State">TCP state (linux/tcp_states.h: 1 = ESTABLISHED, 10 = LISTEN, …).</param>
/// <param name="Inode">Socket inode (<c>socket:[inode]</c> in <c>/proc/&lt;pid&gt;/fd</c>); 0 once orphaned or destroyed.</param>
/// <param name="Cookie">Socket cookie, unique and stable for the socket's life (idiag_cookie[0] | idiag_cookie[1] &lt;&lt; 32).</param>
/// <param name="ReceiveQueue">idiag_rqueue: unread bytes (for LISTEN: current accept backlog).</param>
/// <param name="SendQueue">idiag_wqueue: unacknowledged bytes (for LISTEN: maximum backlog).</param>
/// <param name="BytesReceived">tcp_info.tcpi_bytes_received (0 when <paramref name="HasInfo"/> is false).</param>
/// <param name="BytesAcked">tcp_info.tcpi_bytes_acked (0 when <paramref name="HasInfo"/> is false).</param>
/// <param name="HasInfo">Whether an INET_DIAG_INFO attribute long enough to hold both byte counters was present.</param>
/// <param name="Uid">idiag_uid: the owner of the socket (the effective uid of the process that created it).</param>
/// <param name="LastDataReceivedMs">tcp_info.tcpi_last_data_recv: milliseconds since payload last arrived (0 without info).</param>
internal readonly record struct InetDiagRecord(
    byte Family, byte State, uint Inode, ulong Cookie, uint ReceiveQueue, uint SendQueue,
    ulong BytesReceived, ulong BytesAcked, bool HasInfo, uint Uid = 0, uint LastDataReceivedMs = 0);

/// <summary>What one netlink message in a receive buffer was.</summary>
internal enum NetlinkItemKind : byte
{
    /// <summary>A SOCK_DIAG_BY_FAMILY message: <see cref="InetDiagDecoder.Record"/> is valid.</summary>
    Record,
    /// <summary>NLMSG_DONE: the dump is over (<see cref="InetDiagDecoder.Errno"/> holds its status, normally 0).</summary>
    Done,
    /// <summary>NLMSG_ERROR: <see cref="InetDiagDecoder.Errno"/> is the positive errno (0 = acknowledgement).</summary>
    Error,
    /// <summary>Any other message type (NLMSG_NOOP, NLMSG_OVERRUN, …): skipped.</summary>
    Other,
}

/// <summary>
/// Pure decoder of NETLINK_SOCK_DIAG replies (linux/netlink.h, linux/inet_diag.h, linux/tcp.h) from a
/// span: walks every message in one <c>recv</c> buffer, honouring NLMSG_ALIGN / RTA_ALIGN. Anything that
/// does not fit the framing (a header or length running past the end, an attribute length below its
/// own header) is a bug in the producer and throws <see cref="InvalidDataException"/>.
/// Netlink is host-endian; like the kernel ABI on x86_64 and arm64 this reads little-endian.
/// </summary>
internal ref struct InetDiagDecoder
{
    /// <summary>sizeof(struct nlmsghdr).</summary>
    public const int NlMsgHeaderLength = 16;
    /// <summary>sizeof(struct inet_diag_msg).</summary>
    public const int InetDiagMsgLength = 72;
    /// <summary>sizeof(struct inet_diag_req_v2).</summary>
    public const int InetDiagReqV2Length = 56;
    public const ushort NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3;
    /// <summary>linux/sock_diag.h.</summary>
    public const ushort SOCK_DIAG_BY_FAMILY = 20;
    /// <summary>linux/inet_diag.h: the pre-3.3 request type, still served; replies carry the same type.</summary>
    public const ushort TCPDIAG_GETSOCK = 18;
    /// <summary>sizeof(struct inet_diag_req) (the v1 request of TCPDIAG_GETSOCK).</summary>
    public const int InetDiagReqV1Length = 60;
    public const ushort NLM_F_REQUEST = 0x1, NLM_F_DUMP = 0x300, NLM_F_DUMP_INTR = 0x10;
    /// <summary>enum inet_diag_attr: INET_DIAG_INFO carries struct tcp_info.</summary>
    public const ushort INET_DIAG_INFO = 2;
    /// <summary>offsetof(struct tcp_info, tcpi_bytes_acked): both u64 counters appeared in Linux 4.1.</summary>
    public const int TcpiBytesAckedOffset = 120;
    /// <summary>offsetof(struct tcp_info, tcpi_last_data_recv) (linux/tcp.h: after 8 bytes of u8 fields and nine u32s).</summary>
    public const int TcpiLastDataRecvOffset = 52;
    /// <summary>offsetof(struct tcp_info, tcpi_bytes_received).</summary>
    public const int TcpiBytesReceivedOffset = 128;
    /// <summary>Shortest tcp_info that holds both counters; an older kernel's shorter struct means "unavailable".</summary>
    public const int TcpInfoMinLength = TcpiBytesReceivedOffset + 8;

    // struct inet_diag_msg offsets (linux/inet_diag.h; checked with offsetof on Linux 6.x).
    private const int OffFamily = 0, OffState = 1, OffCookie = 44, OffRqueue = 56, OffWqueue = 60, OffUid = 64, OffInode = 68;

    private ReadOnlySpan<byte> _rest;

    /// <summary>Starts decoding the bytes one <c>recv</c> returned.</summary>
    public InetDiagDecoder(ReadOnlySpan<byte> buffer) => _rest = buffer;

    /// <summary>Kind of the current message.</summary>
    public NetlinkItemKind Kind { get; private set; }
    /// <summary>The decoded socket when <see cref="Kind"/> is <see cref="NetlinkItemKind.Record"/>.</summary>
    public InetDiagRecord Record { get; private set; }
    /// <summary>Positive errno of an NLMSG_ERROR or the status of NLMSG_DONE.</summary>
    public int Errno { get; private set; }
    /// <summary>nlmsg_seq of the current message (the request's sequence number; 0 for notifications).</summary>
    public uint Sequence { get; private set; }
    /// <summary>nlmsg_flags of the current message (NLM_F_MULTI, NLM_F_DUMP_INTR, …).</summary>
    public ushort Flags { get; private set; }

    /// <summary>Advances to the next message; false when the buffer is exhausted.</summary>
    /// <exception cref="InvalidDataException">The buffer is not a well-formed sequence of netlink messages.</exception>
    public bool MoveNext()
    {
        if (_rest.IsEmpty) return false;
        if (_rest.Length < NlMsgHeaderLength)
            throw new InvalidDataException($"netlink: {_rest.Length} trailing bytes, shorter than a message header");
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_rest[4..]);
        Flags = BinaryPrimitives.ReadUInt16LittleEndian(_rest[6..]);
        Sequence = BinaryPrimitives.ReadUInt32LittleEndian(_rest[8..]);
        if (length < NlMsgHeaderLength || length > (uint)_rest.Length)
            throw new InvalidDataException($"netlink: message length {length} outside [{NlMsgHeaderLength}, {_rest.Length}]");
        var payload = _rest[NlMsgHeaderLength..(int)length];
        Payload = payload;
        // NLMSG_ALIGN: messages start on 4-byte boundaries; the last one may end unpadded.
        int next = (int)Math.Min(Align4(length), (uint)_rest.Length);
        _rest = _rest[next..];
        Errno = 0;
        Record = default;
        switch (type)
        {
            case SOCK_DIAG_BY_FAMILY:
            case TCPDIAG_GETSOCK:
                Kind = NetlinkItemKind.Record;
                Record = DecodeInetDiagMsg(payload);
                break;
            case NLMSG_DONE:
                Kind = NetlinkItemKind.Done;
                // The kernel appends the dump's int status; a bare NLMSG_DONE (older kernels) means 0.
                Errno = payload.Length >= 4 ? -BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
                break;
            case NLMSG_ERROR:
                // struct nlmsgerr { int error; struct nlmsghdr msg; } — error is a negative errno or 0 (ACK).
                if (payload.Length < 4)
                    throw new InvalidDataException($"netlink: NLMSG_ERROR payload of {payload.Length} bytes");
                Kind = NetlinkItemKind.Error;
                Errno = -BinaryPrimitives.ReadInt32LittleEndian(payload);
                break;
            default:
                Kind = NetlinkItemKind.Other;
                break;
        }
        return true;
    }

    /// <summary>
    /// The two ends of the socket in an inet_diag_msg payload (struct inet_diag_sockid: ports big-endian at 4 and 6,
    /// addresses at 8 and 24, 4 bytes used for AF_INET, 16 for AF_INET6). For <c>zeroshot inspect</c>, off the hot path.
    /// </summary>
    public static (System.Net.IPEndPoint Local, System.Net.IPEndPoint Peer) DecodeEndpoints(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < InetDiagMsgLength)
            throw new InvalidDataException($"inet_diag: message of {payload.Length} bytes, need {InetDiagMsgLength}");
        int length = payload[OffFamily] == 10 ? 16 : 4;
        var local = new System.Net.IPAddress(payload.Slice(8, length));
        var peer = new System.Net.IPAddress(payload.Slice(24, length));
        return (new System.Net.IPEndPoint(local, BinaryPrimitives.ReadUInt16BigEndian(payload[4..])),
            new System.Net.IPEndPoint(peer, BinaryPrimitives.ReadUInt16BigEndian(payload[6..])));
    }

    /// <summary>The payload of the current message (valid until the next <see cref="MoveNext"/>).</summary>
    public ReadOnlySpan<byte> Payload { get; private set; }

    /// <summary>Decodes struct inet_diag_msg followed by its rtattr list.</summary>
    public static InetDiagRecord DecodeInetDiagMsg(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < InetDiagMsgLength)
            throw new InvalidDataException($"inet_diag: message of {payload.Length} bytes, need {InetDiagMsgLength}");
        byte family = payload[OffFamily];
        byte state = payload[OffState];
        ulong cookie = BinaryPrimitives.ReadUInt32LittleEndian(payload[OffCookie..])
                       | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(payload[(OffCookie + 4)..]) << 32);
        uint rqueue = BinaryPrimitives.ReadUInt32LittleEndian(payload[OffRqueue..]);
        uint wqueue = BinaryPrimitives.ReadUInt32LittleEndian(payload[OffWqueue..]);
        uint inode = BinaryPrimitives.ReadUInt32LittleEndian(payload[OffInode..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(payload[OffUid..]);
        ulong received = 0, acked = 0;
        uint lastReceived = 0;
        bool hasInfo = false;
        var attrs = payload[InetDiagMsgLength..];
        while (!attrs.IsEmpty)
        {
            if (attrs.Length < 4)
                throw new InvalidDataException($"inet_diag: {attrs.Length} trailing bytes, shorter than an attribute header");
            ushort rtaLength = BinaryPrimitives.ReadUInt16LittleEndian(attrs);
            ushort rtaType = BinaryPrimitives.ReadUInt16LittleEndian(attrs[2..]);
            if (rtaLength < 4 || rtaLength > attrs.Length)
                throw new InvalidDataException($"inet_diag: attribute length {rtaLength} outside [4, {attrs.Length}]");
            // Top bits are NLA_F_NESTED / NLA_F_NET_BYTEORDER (linux/netlink.h), not part of the type.
            if ((rtaType & 0x3FFF) == INET_DIAG_INFO && rtaLength - 4 >= TcpInfoMinLength)
            {
                var info = attrs[4..rtaLength];
                acked = BinaryPrimitives.ReadUInt64LittleEndian(info[TcpiBytesAckedOffset..]);
                received = BinaryPrimitives.ReadUInt64LittleEndian(info[TcpiBytesReceivedOffset..]);
                lastReceived = BinaryPrimitives.ReadUInt32LittleEndian(info[TcpiLastDataRecvOffset..]);
                hasInfo = true;
            }
            // RTA_ALIGN: attributes are padded to 4 bytes; the last may end unpadded.
            attrs = attrs[(int)Math.Min(Align4(rtaLength), (uint)attrs.Length)..];
        }
        return new InetDiagRecord(family, state, inode, cookie, rqueue, wqueue, received, acked, hasInfo, uid, lastReceived);
    }

    /// <summary>
    /// Writes a SOCK_DIAG_BY_FAMILY dump request (nlmsghdr + inet_diag_req_v2) for TCP sockets of
    /// <paramref name="family"/> in <paramref name="stateMask"/>, asking for INET_DIAG_INFO. Returns its length.
    /// </summary>
    public static int WriteDumpRequest(Span<byte> destination, byte family, uint stateMask, uint sequence)
    {
        const int length = NlMsgHeaderLength + InetDiagReqV2Length;
        var d = destination[..length];
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d, length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[4..], SOCK_DIAG_BY_FAMILY);
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], NLM_F_REQUEST | NLM_F_DUMP);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], sequence);
        var req = d[NlMsgHeaderLength..];
        req[0] = family;                          // sdiag_family
        req[1] = 6;                               // sdiag_protocol = IPPROTO_TCP
        req[2] = 1 << (INET_DIAG_INFO - 1);       // idiag_ext: bit (attr - 1) requests that attribute
        BinaryPrimitives.WriteUInt32LittleEndian(req[4..], stateMask); // idiag_states
        // id left zero: no address/port/interface filter; the cookie INET_DIAG_NOCOOKIE is not needed for dumps.
        return length;
    }

    /// <summary>sizeof(struct inet_diag_sockid): ports, addresses, interface and cookie, at offset 4 of inet_diag_msg.</summary>
    public const int SockIdLength = 48;

    /// <summary>The socket's identity in a reply's payload (what an exact request names it by).</summary>
    public static ReadOnlySpan<byte> SockId(ReadOnlySpan<byte> payload) => payload.Slice(4, SockIdLength);

    /// <summary>
    /// Writes a SOCK_DIAG_BY_FAMILY request for ONE socket (no NLM_F_DUMP): the kernel finds it by its addresses and
    /// ports in the TCP hash tables (inet_diag_find_one_icsk: a hash lookup, not a walk of every bucket), checks the cookie
    /// and answers with one message, or with NLMSG_ERROR ENOENT (gone) or ESTALE (the ports now belong to another
    /// socket). <paramref name="sockId"/> is the socket's <see cref="SockId"/> from an earlier reply. Returns its length.
    /// </summary>
    public static int WriteExactRequest(Span<byte> destination, byte family, ReadOnlySpan<byte> sockId, uint sequence)
    {
        const int length = NlMsgHeaderLength + InetDiagReqV2Length;
        var d = destination[..length];
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d, length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[4..], SOCK_DIAG_BY_FAMILY);
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], NLM_F_REQUEST);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], sequence);
        var req = d[NlMsgHeaderLength..];
        req[0] = family;                          // sdiag_family
        req[1] = 6;                               // sdiag_protocol = IPPROTO_TCP
        req[2] = 1 << (INET_DIAG_INFO - 1);       // idiag_ext
        BinaryPrimitives.WriteUInt32LittleEndian(req[4..], 0xFFFFFFFFu); // idiag_states (not checked for one socket)
        sockId[..SockIdLength].CopyTo(req[8..]);  // struct inet_diag_sockid, as the kernel reported it
        return length;
    }

    /// <summary>
    /// Writes a TCPDIAG_GETSOCK dump request (nlmsghdr + v1 inet_diag_req) asking for INET_DIAG_INFO. The
    /// kernel's compat path (net/ipv4/inet_diag.c, inet_diag_dump_compat) dumps with family AF_UNSPEC,
    /// i.e. IPv4 and IPv6 sockets in ONE walk of the TCP hash tables, instead of one walk per family
    /// with SOCK_DIAG_BY_FAMILY. Returns its length.
    /// </summary>
    public static int WriteCompatDumpRequest(Span<byte> destination, uint stateMask, uint sequence)
    {
        const int length = NlMsgHeaderLength + InetDiagReqV1Length;
        var d = destination[..length];
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d, length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[4..], TCPDIAG_GETSOCK);
        BinaryPrimitives.WriteUInt16LittleEndian(d[6..], NLM_F_REQUEST | NLM_F_DUMP);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], sequence);
        var req = d[NlMsgHeaderLength..];
        req[0] = 2;                                // idiag_family (ignored by the compat dump)
        req[3] = 1 << (INET_DIAG_INFO - 1);        // idiag_ext
        BinaryPrimitives.WriteUInt32LittleEndian(req[52..], stateMask); // idiag_states, after the 48-byte sockid
        return length;
    }

    private static uint Align4(uint length) => (length + 3u) & ~3u;
}

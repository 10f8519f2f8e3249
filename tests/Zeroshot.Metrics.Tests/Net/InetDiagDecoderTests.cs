using System.Buffers.Binary;
using Zeroshot.Metrics.Linux.Net;

namespace Zeroshot.Metrics.Tests.Net;

public class InetDiagDecoderTests
{
    private const byte Established = 1, Close = 7, Listen = 10;

    private static (List<InetDiagRecord> Records, List<(NetlinkItemKind Kind, int Errno, uint Seq)> Items) DecodeAll(ReadOnlySpan<byte> buffer)
    {
        var records = new List<InetDiagRecord>();
        var items = new List<(NetlinkItemKind, int, uint)>();
        var decoder = new InetDiagDecoder(buffer);
        while (decoder.MoveNext())
        {
            items.Add((decoder.Kind, decoder.Errno, decoder.Sequence));
            if (decoder.Kind == NetlinkItemKind.Record) records.Add(decoder.Record);
        }
        return (records, items);
    }

    [Theory]
    [InlineData("inet-dump.bin", 2)]
    [InlineData("inet6-dump.bin", 10)]
    public void Captured_dump_decodes_listener_client_and_server(string file, byte family)
    {
        var (records, items) = DecodeAll(NetFixtures.Read(file));

        Assert.Equal(4, items.Count);
        Assert.All(items, i => Assert.Equal(7u, i.Seq));
        Assert.Equal((NetlinkItemKind.Done, 0, 7u), items[^1]);
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal(family, r.Family));
        Assert.All(records, r => Assert.True(r.HasInfo));
        Assert.All(records, r => Assert.NotEqual(0u, r.Inode));
        Assert.Equal(3, records.Select(r => r.Cookie).Distinct().Count());
        Assert.Equal(3, records.Select(r => r.Inode).Distinct().Count());

        var listener = Assert.Single(records, r => r.State == Listen);
        Assert.Equal((0ul, 0ul), (listener.BytesReceived, listener.BytesAcked));
        Assert.Equal(4u, listener.SendQueue); // LISTEN: wqueue is the backlog passed to listen(2)
        // The active opener's bytes_acked counts its SYN (+1); the passive side's does not; bytes_received is payload.
        var client = Assert.Single(records, r => r.State == Established && r.BytesAcked == NetFixtures.ClientToServer + 1);
        Assert.Equal((ulong)NetFixtures.ServerToClient, client.BytesReceived);
        var server = Assert.Single(records, r => r.State == Established && r.BytesReceived == NetFixtures.ClientToServer);
        Assert.Equal((ulong)NetFixtures.ServerToClient, server.BytesAcked);
        Assert.Equal((0u, 0u), (client.SendQueue, client.ReceiveQueue));
    }

    [Theory]
    [InlineData("inet-dump.bin")]
    [InlineData("inet6-dump.bin")]
    public void An_exact_request_names_a_captured_socket_by_the_identity_its_reply_carried(string file)
    {
        var buffer = NetFixtures.Read(file);
        var decoder = new InetDiagDecoder(buffer);
        Assert.True(decoder.MoveNext());
        var record = decoder.Record;
        var id = InetDiagDecoder.SockId(decoder.Payload).ToArray();

        var request = new byte[InetDiagDecoder.NlMsgHeaderLength + InetDiagDecoder.InetDiagReqV2Length + 8];
        int length = InetDiagDecoder.WriteExactRequest(request, record.Family, id, 42);
        Assert.Equal(72, length);
        Assert.Equal((uint)length, BinaryPrimitives.ReadUInt32LittleEndian(request));
        Assert.Equal(InetDiagDecoder.SOCK_DIAG_BY_FAMILY, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(4)));
        // NLM_F_REQUEST alone: no NLM_F_DUMP, so the kernel looks the one socket up instead of walking every bucket.
        Assert.Equal(InetDiagDecoder.NLM_F_REQUEST, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(6)));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(8)));
        Assert.Equal(record.Family, request[16]);
        Assert.Equal(6, request[17]); // IPPROTO_TCP
        Assert.Equal(1 << (InetDiagDecoder.INET_DIAG_INFO - 1), request[18]);
        Assert.Equal(id, request.AsSpan(24, InetDiagDecoder.SockIdLength).ToArray());
        // The identity ends with the cookie the reply carried (idiag_cookie, checked by the kernel against the socket found).
        Assert.Equal(record.Cookie, BinaryPrimitives.ReadUInt64LittleEndian(request.AsSpan(24 + 40)));
        Assert.All(request.AsSpan(length).ToArray(), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData("inet-dump.bin", "inet-destroy.bin")]
    [InlineData("inet6-dump.bin", "inet6-destroy.bin")]
    public void Captured_destroy_notifications_carry_final_tcp_info_and_cookie_but_no_inode(string dumpFile, string destroyFile)
    {
        var (dumped, _) = DecodeAll(NetFixtures.Read(dumpFile));
        var (destroyed, items) = DecodeAll(NetFixtures.Read(destroyFile));

        Assert.Equal(3, destroyed.Count);
        Assert.All(items, i => Assert.Equal(0u, i.Seq)); // multicast, not a reply
        Assert.All(destroyed, r => Assert.Equal((0u, Close, true), (r.Inode, r.State, r.HasInfo)));
        Assert.Equal(dumped.Select(r => r.Cookie).Order(), destroyed.Select(r => r.Cookie).Order());
        foreach (var d in destroyed)
        {
            var live = dumped.Single(r => r.Cookie == d.Cookie);
            // Final counters: the FIN adds one to both directions of a normally closed connection.
            if (live.State == Listen) Assert.Equal((0ul, 0ul), (d.BytesReceived, d.BytesAcked));
            else Assert.Equal((live.BytesReceived + 1, live.BytesAcked + 1), (d.BytesReceived, d.BytesAcked));
        }
    }

    [Fact]
    public void Every_truncation_of_a_real_buffer_decodes_or_throws_InvalidDataException()
    {
        var full = NetFixtures.Read("inet-dump.bin");
        int clean = 0, rejected = 0;
        for (int length = 0; length < full.Length; length++)
        {
            try
            {
                DecodeAll(full.AsSpan(0, length));
                clean++;
            }
            catch (InvalidDataException)
            {
                rejected++;
            }
        }
        // Only the cuts exactly on message boundaries are well-formed (0, after 1, 2, 3 messages).
        Assert.Equal(4, clean);
        Assert.Equal(full.Length - 4, rejected);
    }

    [Fact]
    public void Truncated_header_is_rejected()
    {
        var ex = Assert.Throws<InvalidDataException>(() => DecodeAll(new byte[15]));
        Assert.Contains("header", ex.Message);
    }

    [Theory]
    [InlineData(15u)]
    [InlineData(0u)]
    [InlineData(17u)]
    [InlineData(uint.MaxValue)]
    public void Message_length_outside_the_buffer_is_rejected(uint length)
    {
        var buffer = Message(InetDiagDecoder.NLMSG_DONE, new byte[4]);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, length == 17u ? (uint)buffer.Length + 1 : length);
        Assert.Throws<InvalidDataException>(() => DecodeAll(buffer));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(400)]
    public void Bad_rtattr_length_is_rejected(int rtaLength)
    {
        var payload = new byte[72 + 8];
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(72), (ushort)rtaLength);
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(74), InetDiagDecoder.INET_DIAG_INFO);
        var ex = Assert.Throws<InvalidDataException>(() => DecodeAll(Message(InetDiagDecoder.SOCK_DIAG_BY_FAMILY, payload)));
        Assert.Contains("attribute", ex.Message);
    }

    [Fact]
    public void Inet_diag_message_shorter_than_its_struct_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => DecodeAll(Message(InetDiagDecoder.SOCK_DIAG_BY_FAMILY, new byte[71])));
    }

    [Fact]
    public void Short_tcp_info_from_an_old_kernel_leaves_counters_unavailable_but_state_valid()
    {
        // Linux < 4.1: tcp_info ends before tcpi_bytes_acked (e.g. 104 bytes).
        var payload = new byte[72 + 4 + 104];
        payload[0] = 2;
        payload[1] = Established;
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(56), 11);   // rqueue
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(60), 22);   // wqueue
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(68), 4242); // inode
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(72), 4 + 104);
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(74), InetDiagDecoder.INET_DIAG_INFO);
        payload.AsSpan(76).Fill(0xFF);

        var r = Assert.Single(DecodeAll(Message(InetDiagDecoder.SOCK_DIAG_BY_FAMILY, payload)).Records);
        Assert.Equal(new InetDiagRecord(2, Established, 4242, 0, 11, 22, 0, 0, false), r);
    }

    [Fact]
    public void Unpadded_attribute_and_message_at_the_end_of_the_buffer_are_accepted()
    {
        // A 5-byte attribute (like INET_DIAG_TOS) last in the message, and the message last in the buffer.
        var payload = new byte[72 + 5];
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(72), 5);
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(74), 5);
        var buffer = Message(InetDiagDecoder.SOCK_DIAG_BY_FAMILY, payload);
        Assert.Equal(16 + 77, buffer.Length);
        Assert.Single(DecodeAll(buffer).Records);
    }

    [Fact]
    public void Nlmsg_error_reports_the_positive_errno_and_other_types_are_skipped()
    {
        var error = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(error, -2); // -ENOENT
        var buffer = Message(InetDiagDecoder.NLMSG_NOOP, []).Concat(Message(InetDiagDecoder.NLMSG_ERROR, error)).ToArray();
        var (_, items) = DecodeAll(buffer);
        Assert.Equal([(NetlinkItemKind.Other, 0, 0u), (NetlinkItemKind.Error, 2, 0u)], items);
        Assert.Throws<InvalidDataException>(() => DecodeAll(Message(InetDiagDecoder.NLMSG_ERROR, new byte[2])));
    }

    [Fact]
    public void Dump_request_matches_inet_diag_req_v2_layout()
    {
        var buffer = new byte[128];
        int length = InetDiagDecoder.WriteDumpRequest(buffer, 10, 0xFFFF, 42);
        Assert.Equal(72, length);
        Assert.Equal(
            "48000000" + "1400" + "0103" + "2A000000" + "00000000" // nlmsghdr: len 72, type 20, REQUEST|DUMP, seq 42, pid 0
            + "0A" + "06" + "02" + "00" + "FFFF0000"                // family, IPPROTO_TCP, ext=1<<(INFO-1), pad, states
            + new string('0', 96),                                  // inet_diag_sockid: no filter
            Convert.ToHexString(buffer, 0, length));
    }

    [Fact]
    public void Compat_dump_request_matches_v1_inet_diag_req_layout()
    {
        var buffer = new byte[128];
        int length = InetDiagDecoder.WriteCompatDumpRequest(buffer, 0xFFBF, 9);
        Assert.Equal(76, length);
        Assert.Equal(
            "4C000000" + "1200" + "0103" + "09000000" + "00000000" // nlmsghdr: len 76, TCPDIAG_GETSOCK, REQUEST|DUMP, seq 9
            + "02" + "00" + "00" + "02"                             // family (ignored), src_len, dst_len, ext=1<<(INFO-1)
            + new string('0', 96)                                   // inet_diag_sockid
            + "BFFF0000" + "00000000",                              // idiag_states, idiag_dbs
            Convert.ToHexString(buffer, 0, length));
    }

    [Fact]
    public void Replies_to_the_compat_request_decode_like_sock_diag_by_family()
    {
        // TCPDIAG_GETSOCK replies reuse the request's type (18); the payload is the same inet_diag_msg.
        var buffer = NetFixtures.Read("inet-dump.bin");
        var (expected, _) = DecodeAll(buffer);
        for (int off = 0; off < buffer.Length; off += (BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(off)) + 3) & ~3)
            if (BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(off + 4)) == InetDiagDecoder.SOCK_DIAG_BY_FAMILY)
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(off + 4), InetDiagDecoder.TCPDIAG_GETSOCK);
        Assert.Equal(expected, DecodeAll(buffer).Records);
    }

    [Theory]
    [InlineData("socket:[12345]", true, 12345u)]
    [InlineData("socket:[4294967295]", true, uint.MaxValue)]
    [InlineData("socket:[]", false, 0u)]
    [InlineData("socket:[12a]", false, 0u)]
    [InlineData("socket:[4294967296]", false, 0u)]
    [InlineData("pipe:[12345]", false, 0u)]
    [InlineData("/dev/null", false, 0u)]
    [InlineData("socket:[123", false, 0u)]
    public void Fd_link_targets_parse_only_as_socket_inodes(string target, bool ok, uint inode)
    {
        Assert.Equal(ok, ProcSocketInodes.TryParseSocketInode(System.Text.Encoding.ASCII.GetBytes(target), out uint parsed));
        Assert.Equal(inode, parsed);
    }

    private static byte[] Message(ushort type, byte[] payload)
    {
        var buffer = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)buffer.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(4), type);
        payload.CopyTo(buffer, 16);
        return buffer;
    }
}

using System.Text;

namespace Zeroshot.Agents.Control;

/// <summary>
/// Where supervisors put their control sockets: <c>$XDG_RUNTIME_DIR/zeroshot</c> when that variable names a usable
/// directory (XDG Base Directory spec: per-user, 0700, removed at logout), else <c>&lt;temp&gt;/zeroshot-&lt;uid&gt;</c>.
/// </summary>
/// <remarks>
/// The directory is the access-control boundary: a Unix socket's own mode is not honoured by every system for
/// connect(2) (unix(7) "BUGS"/portability notes), but search permission on the containing directory always is.
/// So the directory must be a real directory (not a symlink an attacker could point elsewhere), owned by us, and
/// mode 0700. An existing directory that fails any check is refused rather than repaired: with a shared <c>/tmp</c>
/// a wrong owner means someone else pre-created it (classic /tmp squatting), and wrong permission bits mean anyone
/// could have planted or replaced sockets in it meanwhile — chmod-ing it now would not undo that, so the user is
/// told to look and remove it.
/// </remarks>
internal static class RuntimeDirectory
{
    /// <summary>sizeof(sockaddr_un.sun_path) on Linux (unix(7)); the path plus its terminating NUL must fit.</summary>
    internal const int SunPathSize = 108;

    /// <summary>The default socket directory for this user, created and verified (see the type remarks).</summary>
    internal static string Resolve() => EnsureSecure(DefaultPath());

    /// <summary>The default directory path, without creating or checking it.</summary>
    internal static string DefaultPath() => DefaultPath(Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"));

    /// <summary>The default directory path given the value of XDG_RUNTIME_DIR.</summary>
    internal static string DefaultPath(string? xdg)
    {
        // "usable": an absolute path to an existing directory (the spec says relative values must be ignored).
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathFullyQualified(xdg) && Directory.Exists(xdg))
            return Path.Combine(xdg, "zeroshot");
        return Path.Combine(Path.GetTempPath(), $"zeroshot-{ControlNative.EffectiveUid}");
    }

    /// <summary>
    /// Creates <paramref name="directory"/> with mode 0700 if it is missing, then verifies it: not a symlink,
    /// a directory, owned by the effective uid, no group/other permission bits, in parents no other user can write
    /// (<see cref="CheckParents"/>). Returns the full path.
    /// </summary>
    /// <exception cref="UserErrorException">The directory exists but is unsafe, or cannot be created.</exception>
    internal static string EnsureSecure(string directory)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("control sockets need Linux");
        directory = Path.GetFullPath(directory);
        // Before creating anything: a directory made inside a parent others can write is theirs to replace.
        CheckParents(directory);
        if (ControlNative.LStat(directory) is null)
        {
            try
            {
                // mkdir(2) applies the umask, which can only remove bits: the result is at most 0700.
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserErrorException($"cannot create the control socket directory {directory}: {e.Message}");
            }
        }
        // Check what is there now, not what we asked for: another user may have won a race to create it.
        var status = ControlNative.LStat(directory)
            ?? throw new UserErrorException($"the control socket directory {directory} vanished while being created");
        if (status.Type == ControlNative.SIfLnk)
            throw new UserErrorException($"refusing the control socket directory {directory}: it is a symbolic link; remove it");
        if (status.Type != ControlNative.SIfDir)
            throw new UserErrorException($"refusing the control socket directory {directory}: it is not a directory; remove it");
        if (status.Uid != ControlNative.EffectiveUid)
            throw new UserErrorException(
                $"refusing the control socket directory {directory}: it is owned by uid {status.Uid}, not by you (uid {ControlNative.EffectiveUid}); remove it");
        if ((status.Permissions & 0x3F) /* 077: group and other bits */ != 0)
            throw new UserErrorException(
                $"refusing the control socket directory {directory}: mode {Convert.ToString(status.Permissions, 8)} lets other users in " +
                "(it must be 700); check its contents, then remove it or run 'chmod 700' on it");
        return directory;
    }

    /// <summary>
    /// For a client: no other user may have been able to put the socket at <paramref name="socketPath"/>: its directory
    /// is ours and writable by nobody else, and so is every parent (<see cref="CheckParents"/>). Whether others may
    /// read it does not matter to a client (the server checks who connects). The listener's uid is checked after
    /// connect(2) as well (<see cref="ControlClient"/>), which also catches a swap between this check and the connect.
    /// </summary>
    /// <exception cref="UserErrorException">The directory or a parent is unsafe (a missing one is left to connect(2) to report).</exception>
    internal static void CheckForClient(string socketPath)
    {
        if (!OperatingSystem.IsLinux()) return;
        var directory = Path.GetDirectoryName(Path.GetFullPath(socketPath));
        if (directory is null || ControlNative.Stat(directory) is not { } status) return;
        uint me = ControlNative.EffectiveUid;
        if (status.Uid != me)
            throw new UserErrorException(
                $"refusing the control socket directory {directory}: it is owned by uid {status.Uid}, not by you (uid {me}); " +
                "another user may have replaced it");
        if ((status.Permissions & 0x12) /* 022 */ != 0)
            throw new UserErrorException(
                $"refusing the control socket directory {directory}: mode {Convert.ToString(status.Permissions, 8)} lets other users put sockets in it");
        CheckParents(directory);
    }

    /// <summary>
    /// Every directory above <paramref name="directory"/>, up to the root, must be safe from other users: one they can
    /// write lets them rename our directory away and put their own (with a fake supervisor socket) in its place
    /// (rename(2) needs write permission on the parent only). Safe is owned by us or by root, and not writable by group
    /// or others unless sticky (S_ISVTX: only an entry's owner may rename or delete it, as in /tmp; inode(7)).
    /// Symbolic links in the chain are followed, as path resolution does; the directory holding a link is itself checked.
    /// </summary>
    /// <exception cref="UserErrorException">A parent is owned by another user, or writable by others without the sticky bit.</exception>
    internal static void CheckParents(string directory)
    {
        uint me = ControlNative.EffectiveUid;
        for (var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(directory)); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (ControlNative.Stat(parent) is not { } status) continue;
            if (status.Uid != me && status.Uid != 0)
                throw new UserErrorException(
                    $"refusing the control socket directory {directory}: its parent {parent} is owned by uid {status.Uid}, who could replace it; " +
                    "set XDG_RUNTIME_DIR to a directory of your own");
            const int groupOtherWrite = 0x12, sticky = 0x200; // 022, 01000
            if ((status.Permissions & groupOtherWrite) != 0 && (status.Permissions & sticky) == 0)
                throw new UserErrorException(
                    $"refusing the control socket directory {directory}: its parent {parent} (mode {Convert.ToString(status.Permissions, 8)}) is writable by " +
                    "other users, who could replace it with their own; run 'chmod o-w,g-w' or 'chmod +t' on it, or set XDG_RUNTIME_DIR to a private directory");
        }
    }

    /// <summary>
    /// The socket path of a cluster inside <paramref name="directory"/>: <c>&lt;directory&gt;/&lt;clusterId&gt;.sock</c>.
    /// </summary>
    /// <exception cref="UserErrorException">The id is not a plain file name, or the path exceeds sun_path.</exception>
    internal static string SocketPath(string directory, string clusterId)
    {
        ValidateClusterId(clusterId);
        string path = Path.Combine(directory, clusterId + ".sock");
        CheckSunPathLength(path);
        return path;
    }

    /// <summary>Throws a clear error when <paramref name="path"/> cannot be bound as a Unix socket address.</summary>
    internal static void CheckSunPathLength(string path)
    {
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes >= SunPathSize)
            throw new UserErrorException(
                $"control socket path is too long ({bytes} bytes, the limit is {SunPathSize - 1}): {path}; " +
                "set XDG_RUNTIME_DIR or TMPDIR to a shorter directory, or use a shorter cluster id");
    }

    /// <summary>Cluster ids become file names: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    internal static void ValidateClusterId(string clusterId)
    {
        bool ok = clusterId.Length is > 0 and <= 100 && clusterId[0] != '.';
        foreach (char c in clusterId)
            ok &= char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
        if (!ok)
            throw new UserErrorException(
                $"invalid cluster id '{clusterId}': use 1-100 letters, digits, '.', '_' or '-', not starting with '.'", ExitCodes.Usage);
    }
}

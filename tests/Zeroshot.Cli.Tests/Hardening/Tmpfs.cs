using System.Diagnostics;

namespace Zeroshot.Cli.Tests.Hardening;

/// <summary>A small tmpfs mounted for a test (we run as root in CI), so a full disk is real and cheap.</summary>
internal sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount(8) syntax, e.g. <c>2m</c>) at a new temp directory.</summary>
    public static Tmpfs Mount(string size)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zs-tmpfs-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs failed ({code}): {error}");
        }
        return new Tmpfs(path);
    }

    /// <summary>Why a tmpfs cannot be mounted here (not root, no mount(8), a container without CAP_SYS_ADMIN), or null.</summary>
    public static string? WhyNot()
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs needs Linux";
        if (Environment.UserName != "root") return "mounting a tmpfs needs root";
        try
        {
            using var probe = Mount("64k");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            return "cannot mount a tmpfs here: " + e.Message;
        }
    }

    /// <summary>Bytes free for us on the file system (statvfs f_bavail, as df shows).</summary>
    public long Available => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose()
    {
        // Lazy: a process still holding a file there (a supervisor being killed) must not make the unmount fail.
        Run("umount", "-l", Path);
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* unmounted lazily: the directory empties once the last holder closes */ }
    }

    private static (int Code, string Error) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        string error = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, error.Trim());
    }
}

/// <summary>A fact that needs a tmpfs; skipped, saying why, where one cannot be mounted.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Reason = new(Tmpfs.WhyNot);

    public TmpfsFactAttribute()
    {
        if (Reason.Value is { } why) Skip = why;
    }
}

using System.Runtime.Versioning;
using Zeroshot.Agents.Control;
using static Zeroshot.Agents.Tests.Control.ControlTestSupport;

namespace Zeroshot.Agents.Tests.Control;

[SupportedOSPlatform("linux")]
public class RuntimeDirectoryTests
{
    [Fact]
    public void Creates_a_missing_directory_with_mode_0700_owned_by_us()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("rt");
        Assert.Equal(dir, RuntimeDirectory.EnsureSecure(dir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        Assert.Equal(dir, RuntimeDirectory.EnsureSecure(dir)); // an existing good one is accepted as is
    }

    [Fact]
    public void Refuses_a_symlink_even_to_a_good_directory()
    {
        using var temp = new TempDir();
        string target = RuntimeDirectory.EnsureSecure(temp.Combine("real"));
        string link = temp.Combine("link");
        File.CreateSymbolicLink(link, target);
        var e = Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(link));
        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public void Refuses_a_file()
    {
        using var temp = new TempDir();
        string file = temp.Combine("file");
        File.WriteAllText(file, "");
        Assert.Contains("not a directory", Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(file)).Message);
    }

    [Fact]
    public async Task Refuses_a_directory_owned_by_another_uid()
    {
        using var temp = new TempDir();
        string dir = RuntimeDirectory.EnsureSecure(temp.Combine("theirs"));
        var (code, output) = await Run("chown", "65534:65534", dir);
        Assert.True(code == 0, output);
        var e = Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(dir));
        Assert.Contains("owned by uid 65534", e.Message);
    }

    [Fact]
    public void Refuses_group_or_other_permission_bits()
    {
        using var temp = new TempDir();
        string dir = RuntimeDirectory.EnsureSecure(temp.Combine("open"));
        File.SetUnixFileMode(dir, Mode0755);
        var e = Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(dir));
        Assert.Contains("mode 755", e.Message);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupWrite);
        Assert.Contains("mode 720", Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(dir)).Message);
    }

    [Fact]
    public void Socket_path_too_long_for_sun_path_is_a_clear_error()
    {
        string dir = "/tmp/" + new string('d', 90);
        Assert.Equal(dir + "/ok.sock", RuntimeDirectory.SocketPath(dir, "ok"));
        var e = Assert.Throws<UserErrorException>(() => RuntimeDirectory.SocketPath(dir, new string('c', 20)));
        Assert.Contains("too long", e.Message);
        Assert.Contains("limit is 107", e.Message);
        // 107 bytes fit (plus the NUL), 108 do not.
        RuntimeDirectory.CheckSunPathLength("/" + new string('x', 106));
        Assert.Throws<UserErrorException>(() => RuntimeDirectory.CheckSunPathLength("/" + new string('x', 107)));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("sp ace")]
    public void Cluster_ids_that_are_not_plain_file_names_are_refused(string id)
    {
        var e = Assert.Throws<UserErrorException>(() => RuntimeDirectory.SocketPath("/tmp", id));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void Default_path_prefers_a_usable_xdg_runtime_dir()
    {
        using var temp = new TempDir();
        string fallback = Path.Combine(Path.GetTempPath(), $"zeroshot-{ControlNative.EffectiveUid}");
        Assert.Equal(Path.Combine(temp.Path, "zeroshot"), RuntimeDirectory.DefaultPath(temp.Path));
        Assert.Equal(fallback, RuntimeDirectory.DefaultPath(null));
        Assert.Equal(fallback, RuntimeDirectory.DefaultPath(""));
        Assert.Equal(fallback, RuntimeDirectory.DefaultPath("relative/dir"));
        Assert.Equal(fallback, RuntimeDirectory.DefaultPath(temp.Combine("missing")));
    }
}

using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Tests.State;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class ZeroshotHomeTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [Fact]
    public void ZEROSHOT_HOME_wins_over_HOME()
    {
        var home = ZeroshotHome.FromEnvironment(name => name switch { "ZEROSHOT_HOME" => "/srv/zs", "HOME" => "/home/u", _ => null });
        Assert.Equal("/srv/zs", home.Root);
        Assert.Equal("/srv/zs/state.db", home.DatabasePath);
        Assert.Equal("/srv/zs/settings.json", home.SettingsPath);
        Assert.Equal("/srv/zs/logs/cosmic-meteor-87", home.LogDirectory("cosmic-meteor-87"));
        Assert.Equal("/srv/zs/logs/cosmic-meteor-87/worker.log", home.AgentLogPath("cosmic-meteor-87", "worker"));
    }

    [Fact]
    public void Without_ZEROSHOT_HOME_it_is_dot_zeroshot_in_HOME()
    {
        var home = ZeroshotHome.FromEnvironment(name => name switch { "ZEROSHOT_HOME" => "", "HOME" => "/home/u", _ => null });
        Assert.Equal("/home/u/.zeroshot", home.Root);
    }

    [Fact]
    public void Created_directories_are_private()
    {
        using var dir = new StoreTempDir();
        var home = new ZeroshotHome(dir.File("nested/home")).EnsureCreated();
        Assert.True(Directory.Exists(home.Root));
        Assert.Equal(Private, File.GetUnixFileMode(home.Root) & (Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
        var logs = home.EnsureLogDirectory("c1");
        Assert.Equal(home.LogDirectory("c1"), logs);
        Assert.Equal(Private, File.GetUnixFileMode(logs) & ~(UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit));
        Assert.Equal(Private, File.GetUnixFileMode(home.LogsRoot) & ~(UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit));
    }

    [Fact]
    public void The_store_opens_inside_a_home_it_creates()
    {
        using var dir = new StoreTempDir();
        var home = new ZeroshotHome(dir.File("fresh"));
        using (var store = StateStore.Open(home))
            Assert.Equal(home.DatabasePath, store.Path);
        Assert.True(File.Exists(home.DatabasePath));
        Assert.Equal(Private, File.GetUnixFileMode(home.Root) & ~(UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Path_escaping_ids_are_rejected(string id)
    {
        var home = new ZeroshotHome("/srv/zs");
        Assert.ThrowsAny<ArgumentException>(() => home.LogDirectory(id));
        Assert.ThrowsAny<ArgumentException>(() => home.AgentLogPath("c", id));
    }
}

using System.Text.Json;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// A private Zeroshot home and runtime directory (both 0700, as the control socket's rules want) for tests that start
/// detached clusters with the real CLI; every cluster started through it is killed at the end.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class DetachedClusters : IDisposable
{
    private readonly List<string> _started = [];

    public DetachedClusters(string prefix)
    {
        Root = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..10]);
        Home = Path.Combine(Root, "home");
        Runtime = Path.Combine(Root, "rt");
        foreach (var dir in new[] { Root, Home, Runtime })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Env = new() { ["XDG_RUNTIME_DIR"] = Runtime };
    }

    /// <summary>A folder for the test's files; deleted at the end.</summary>
    public string Root { get; }

    /// <summary>ZEROSHOT_HOME.</summary>
    public string Home { get; }

    /// <summary>XDG_RUNTIME_DIR: where the supervisors' sockets are.</summary>
    public string Runtime { get; }

    /// <summary>The environment every zeroshot of the test gets (besides ZEROSHOT_HOME).</summary>
    public Dictionary<string, string> Env { get; }

    /// <summary>Runs zeroshot to its end (at most a minute).</summary>
    public ZeroshotProcess.Result Z(params string[] args)
    {
        using var running = ZeroshotProcess.Start(Home, Env, args);
        return running.Wait(TimeSpan.FromSeconds(60));
    }

    /// <summary>Starts a detached cluster of <paramref name="agents"/> (objects serialized as the cluster file's agents); returns its id.</summary>
    public string Start(string name, params object[] agents) => StartFile(name, new { name, agents });

    /// <summary>Starts a detached cluster from <paramref name="cluster"/> (serialized as the whole cluster file); returns its id.</summary>
    public string StartFile(string name, object cluster)
    {
        var file = Path.Combine(Root, name + ".json");
        File.WriteAllText(file, JsonSerializer.Serialize(cluster));
        var started = Z("run", "--detach", file);
        Assert.True(started.ExitCode == 0, started.Out + started.Error);
        var id = started.Out.Trim();
        _started.Add(id);
        return id;
    }

    public void Dispose()
    {
        foreach (var id in _started) Z("kill", id);
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }
}

using System.Diagnostics;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// The install users run (<c>install.sh</c>): a Native AOT zeroshot linked from <c>PREFIX/bin</c>. <c>.ci/run</c> installs
/// it from the clean checkout before the tests and names the prefix in ZEROSHOT_INSTALL_PREFIX; without it, the test
/// installs into a temporary prefix itself (a Native AOT build: a minute or two).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class InstalledBinaryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("zs-install-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private static (int ExitCode, string Out, string Error) Run(string file, IReadOnlyDictionary<string, string> env, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not end within {timeout}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private string Prefix()
    {
        if (Environment.GetEnvironmentVariable("ZEROSHOT_INSTALL_PREFIX") is { Length: > 0 } given) return given;
        string repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "install.sh"))) repo = Path.GetDirectoryName(repo) ?? throw new InvalidOperationException("install.sh not found above the tests");
        string prefix = Path.Combine(_root, "prefix");
        var r = Run("bash", new Dictionary<string, string>(), TimeSpan.FromMinutes(10), Path.Combine(repo, "install.sh"), "--prefix", prefix);
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        return prefix;
    }

    [Fact]
    public void The_installed_native_binary_runs_the_demo_and_its_sim_agents_are_the_same_binary()
    {
        string prefix = Prefix();
        string zeroshot = Path.Combine(prefix, "bin", "zeroshot");
        Assert.True(File.Exists(zeroshot), $"{zeroshot} missing");
        string target = Path.GetFullPath(Path.Combine(prefix, "bin", File.ResolveLinkTarget(zeroshot, returnFinalTarget: true)?.FullName ?? zeroshot));
        var env = new Dictionary<string, string> { ["ZEROSHOT_HOME"] = Path.Combine(_root, "home") };

        var version = Run(zeroshot, env, TimeSpan.FromSeconds(30), "--version");
        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Out.Trim());

        // A native binary: no managed entry assembly next to it, so nothing the JIT could run.
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(target)!, "zeroshot.dll")));

        var task = Run(zeroshot, env, TimeSpan.FromMinutes(2), "task", "run", "--provider", "sim", "--detach", "installed check");
        Assert.True(task.ExitCode == 0, task.Out + task.Error);
        string id = task.Out.Trim();
        // While it runs, its agent is this binary (the sim provider starts zeroshot itself). Looked at until it is: with
        // cgroup containment the agent's pid is first a /bin/sh that moves itself into the agent's cgroup and then
        // execs the agent (AgentCgroup), and a look in between sees the shell.
        string expected = Path.GetFullPath(target);
        string? agentExe = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (agentExe != expected && DateTime.UtcNow < deadline)
        {
            var status = Run(zeroshot, env, TimeSpan.FromSeconds(30), "status", id, "--json");
            using var doc = System.Text.Json.JsonDocument.Parse(status.Out);
            var agent = doc.RootElement.GetProperty("agents")[0];
            if (agent.GetProperty("pid").ValueKind == System.Text.Json.JsonValueKind.Number)
            {
                try { agentExe = File.ResolveLinkTarget($"/proc/{agent.GetProperty("pid").GetInt32()}/exe", false)?.FullName; }
                catch (IOException) { /* ended meanwhile */ }
            }
            if (doc.RootElement.GetProperty("state").GetString() != "running") break;
            Thread.Sleep(200);
        }
        Assert.Equal(expected, agentExe);
        var end = DateTime.UtcNow.AddSeconds(90);
        string state = "running";
        while (state == "running" && DateTime.UtcNow < end)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(Run(zeroshot, env, TimeSpan.FromSeconds(30), "status", id, "--json").Out);
            state = doc.RootElement.GetProperty("state").GetString()!;
            Thread.Sleep(500);
        }
        Assert.Equal("completed", state);
        Assert.Contains("completed", Run(zeroshot, env, TimeSpan.FromSeconds(30), "list").Out, StringComparison.Ordinal);
    }
}

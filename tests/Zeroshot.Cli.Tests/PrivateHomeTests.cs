using System.Diagnostics;
using System.Text.Json;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// Everything zeroshot writes under its home is private to the user (directories 0700, files 0600) whatever the umask,
/// an existing home made by hand with 0755 is tightened, and another uid can read nothing of it.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivateHomeTests : IDisposable
{
    private const UnixFileMode Mode0755 = (UnixFileMode)0x1ED;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "zs-priv-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _home;
    private readonly string _work;

    public PrivateHomeTests()
    {
        _home = Path.Combine(_root, "home");
        _work = Path.Combine(_root, "work");
        Directory.CreateDirectory(_work);
        // As a user who made ~/.zeroshot by hand to write settings.json first: mkdir with the usual 0755.
        Directory.CreateDirectory(_home);
        File.SetUnixFileMode(_root, Mode0755);
        File.SetUnixFileMode(_home, Mode0755);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    /// <summary>Runs zeroshot with umask 022 (the common default, which leaves new files 0644 unless a mode is given).</summary>
    private static ZeroshotProcess.Result RunWithUmask022(string home, params string[] args)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-c", "umask 022; exec \"$@\"", "sh", .. ZeroshotProcess.Argv, .. args]) info.ArgumentList.Add(a);
        info.Environment["ZEROSHOT_HOME"] = home;
        using var running = new ZeroshotProcess.Running(Process.Start(info)!);
        return running.Wait(TimeSpan.FromSeconds(120));
    }

    private static (int Code, string Output) AsNobody(params string[] argv)
    {
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", .. argv]) info.ArgumentList.Add(a);
        // dotnet wants a writable home for its first-run files; /root is not one for uid 65534.
        info.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "setpriv did not finish");
        return (process.ExitCode, output.Result + error.Result);
    }

    private List<string> LooseEntries()
    {
        var loose = new List<string>();
        void Check(string path, UnixFileMode wanted)
        {
            var mode = File.GetUnixFileMode(path);
            if (mode != wanted) loose.Add($"{Path.GetRelativePath(_root, path)} {Convert.ToString((int)mode, 8)}");
        }
        Check(_home, Mode0700);
        foreach (var entry in new DirectoryInfo(_home).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
            Check(entry.FullName, entry is DirectoryInfo ? Mode0700 : Mode0600);
        return loose;
    }

    [Fact]
    public void A_run_with_umask_022_in_a_0755_home_leaves_only_private_files_that_another_uid_cannot_read()
    {
        Assert.Equal(0u, GetEuid()); // the premise: root, another user simulated with setpriv
        var gate = Path.Combine(_work, "go");
        var cluster = Path.Combine(_work, "secret.json");
        File.WriteAllText(cluster, JsonSerializer.Serialize(new
        {
            name = "secret",
            prompt = "the secret prompt",
            maxIterations = 2,
            agents = new object[]
            {
                new { id = "worker", role = "worker", env = new Dictionary<string, string> { ["API_KEY"] = "sk-secret" },
                    command = new[] { "bash", "-c", $"echo output of iteration $ZEROSHOT_ITERATION; while [ ! -e {gate} ]; do sleep 0.05; done" } },
                new { id = "judge", role = "validator", after = new[] { "worker" }, command = new[] { "bash", "-c", "[ $ZEROSHOT_ITERATION -ge 2 ]" } },
            },
        }));

        var detached = RunWithUmask022(_home, "run", "--detach", cluster);
        Assert.True(detached.ExitCode == 0, detached.Out + detached.Error);
        var id = detached.Out.Trim();
        // The home was 0755 and ours: made private, and said so in one line.
        Assert.Contains($"zeroshot: {_home} was mode 755, readable by other users; it is now 700", detached.Error);

        // While the worker runs: the database with its -wal and -shm, the supervisor's log, the agent's log.
        var workerLog = Path.Combine(_home, "logs", id, "worker.log");
        Wait.Until(() => File.Exists(workerLog) && File.ReadAllText(workerLog).Contains("output of iteration 1"), "the worker's output");
        Assert.True(File.Exists(Path.Combine(_home, "state.db-wal")), "the database is open in WAL mode while the cluster runs");
        Assert.Empty(LooseEntries());

        // Another uid reads nothing: not a log, not the database, and zeroshot refuses it the home.
        var (catCode, catOutput) = AsNobody("cat", workerLog);
        Assert.NotEqual(0, catCode);
        Assert.Contains("Permission denied", catOutput);
        Assert.NotEqual(0, AsNobody("cat", Path.Combine(_home, "state.db")).Code);
        var (listCode, listOutput) = AsNobody(["env", $"ZEROSHOT_HOME={_home}", .. ZeroshotProcess.Argv, "list"]);
        Assert.Equal(1, listCode);
        Assert.DoesNotContain(id, listOutput);
        Assert.Equal($"zeroshot: refusing {_home}: it is owned by uid 0, not by you (uid 65534), so its owner can read your logs and secrets; use a directory of your own (ZEROSHOT_HOME)",
            listOutput.Trim());

        // The command agent's prompt (and its env, the API key) is in its environment, which only its own user can read.
        using (var status = JsonDocument.Parse(ZeroshotProcess.RunIn(_home, "status", id, "--json").Out))
        {
            var pid = status.RootElement.GetProperty("agents")[0].GetProperty("pid").GetInt32();
            Assert.Contains("ZEROSHOT_PROMPT=the secret prompt", File.ReadAllText($"/proc/{pid}/environ"));
            var (environCode, environOutput) = AsNobody("cat", $"/proc/{pid}/environ");
            Assert.NotEqual(0, environCode);
            Assert.DoesNotContain("secret", environOutput);
            var (_, cmdline) = AsNobody("cat", $"/proc/{pid}/cmdline");
            Assert.DoesNotContain("secret", cmdline);
        }

        // Let it run to the end (a rejection writes the feedback file, the second iteration appends to the logs).
        File.WriteAllText(gate, "");
        Wait.Until(() => ZeroshotProcess.RunIn(_home, "status", id, "--json").Out.Contains("\"state\":\"completed\""), "the cluster to complete", 90_000);
        Assert.True(File.Exists(Path.Combine(_home, "logs", id, "feedback-1.json")));
        Assert.True(File.Exists(Path.Combine(_home, "logs", id, "supervisor.log")));
        Assert.Empty(LooseEntries());
    }

    [Fact]
    public void Files_left_loose_by_an_older_version_are_made_private()
    {
        // An older version's home: 0644 database, 0755 log directories, 0644 logs.
        var first = RunWithUmask022(_home, "run", WriteCluster("echo first"));
        Assert.True(first.ExitCode == 0, first.Out + first.Error);
        foreach (var entry in new DirectoryInfo(_home).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
            File.SetUnixFileMode(entry.FullName, entry is DirectoryInfo ? Mode0755 : (UnixFileMode)0x1A4 /* 0644 */);
        File.SetUnixFileMode(_home, Mode0755);
        Assert.NotEmpty(LooseEntries());

        var firstId = System.Text.RegularExpressions.Regex.Match(first.Out, @"cluster (\S+) \(").Groups[1].Value;
        var second = RunWithUmask022(_home, "run", WriteCluster("echo second"));
        Assert.True(second.ExitCode == 0, second.Out + second.Error);
        Assert.Contains($"zeroshot: {_home} was mode 755", second.Error);
        Assert.Contains($"zeroshot: {Path.Combine(_home, "logs")} was mode 755", second.Error);
        // The home, the database, logs/ and locks/ are private again; the new cluster's files were created so. Only the
        // old cluster's own logs and lock file, which nothing reopened, keep their modes, unreachable behind 0700 directories.
        var loose = LooseEntries();
        Assert.NotEmpty(loose);
        Assert.All(loose, l => Assert.True(l.StartsWith($"home/logs/{firstId}", StringComparison.Ordinal)
            || l.StartsWith($"home/locks/{firstId}.lock ", StringComparison.Ordinal), l));
    }

    private string WriteCluster(string script)
    {
        var path = Path.Combine(_work, $"c-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            name = "c",
            prompt = "p",
            agents = new object[] { new { id = "worker", role = "worker", command = new[] { "bash", "-c", script } } },
        }));
        return path;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}

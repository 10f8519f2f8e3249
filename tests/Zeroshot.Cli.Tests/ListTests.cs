using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// <c>list</c> of running clusters: every figure comes from the state database, where each supervisor writes what its
/// agents do when it changes, so a frozen (or slow, or busy) supervisor delays nothing and changes nothing.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ListTests : IDisposable
{
    private readonly DetachedClusters _clusters = new("zs-list-");

    public void Dispose() => _clusters.Dispose();

    /// <summary>The cluster's row of <c>list</c> (null when it has none).</summary>
    private string? Row(string id) =>
        _clusters.Z("list").Out.Split('\n').FirstOrDefault(line => line.StartsWith(id + " ", StringComparison.Ordinal));

    private int SupervisorPid(string id)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_clusters.Home, "state.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT supervisor_pid FROM clusters WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    [Fact]
    public void List_shows_what_running_agents_do_while_their_supervisor_is_frozen()
    {
        // A sim agent in a long silent tool call its CLI announced, beside a command agent (which has no activity).
        var id = _clusters.Start("listed",
            new { id = "tool", role = "worker", provider = "sim", options = new { stall = "tool" } },
            new { id = "sleeper", role = "worker", command = new[] { "sleep", "600" } });
        Wait.Until(() => Row(id)?.EndsWith("tool tool:Bash, sleeper quiet", StringComparison.Ordinal) == true, "the tool call in list");

        // Frozen, the supervisor answers nobody: list must not need it. (Asked, it would have shown "tool quiet" after
        // the ten seconds of the hello's timeout.)
        int supervisor = SupervisorPid(id);
        Signal("-STOP", supervisor);
        try
        {
            var list = _clusters.Z("list");
            Assert.True(list.ExitCode == 0, list.Error);
            Assert.Empty(list.Error);
            var row = list.Out.Split('\n').Single(line => line.StartsWith(id + " ", StringComparison.Ordinal));
            Assert.Matches(@"^\S+ +cluster +running +1/\d+ +\S+ +~?\$\d+\.\d\d  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  listed +tool tool:Bash, sleeper quiet$", row);
        }
        finally
        {
            Signal("-CONT", supervisor);
        }
    }
}

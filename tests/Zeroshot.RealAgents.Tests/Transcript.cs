using System.Runtime.CompilerServices;
using System.Text;

namespace Zeroshot.RealAgents.Tests;

/// <summary>
/// Saves a real run's stdout as a fixture (Transcripts/&lt;cli&gt;-&lt;case&gt;.jsonl) when ZEROSHOT_SAVE_TRANSCRIPTS=1,
/// and its stderr and the requests the server saw next to it (.stderr.txt, .requests.txt) for the README.
/// A normal test run writes nothing into the source tree.
/// </summary>
internal static class Transcript
{
    public static void Save(string name, AgentRun run, ModelServer server, [CallerFilePath] string source = "")
    {
        if (Environment.GetEnvironmentVariable("ZEROSHOT_SAVE_TRANSCRIPTS") != "1")
            return;
        var dir = Path.Combine(Path.GetDirectoryName(source)!, "Transcripts");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, name + ".jsonl"), run.Stdout);
        var notes = new StringBuilder();
        notes.Append("argv: ").AppendJoin(' ', run.Arguments.Select(a => a.Length > 200 ? a[..200] + "…" : a)).AppendLine();
        notes.Append("exit: ").Append(run.ExitCode).Append(run.TimedOut ? " (timed out)" : "").Append(", ").Append(run.Elapsed.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)).AppendLine(" s");
        notes.AppendLine("--- stderr ---").AppendLine(run.Stderr.Length > 8000 ? run.Stderr[..8000] + "\n…" : run.Stderr);
        notes.AppendLine("--- requests (method target kind route; body cut) ---");
        foreach (var r in server.Requests)
            notes.Append(r.Method).Append(' ').Append(r.Target).Append(' ').Append(r.Kind).Append(' ').Append(r.Route)
                .Append(" body ").Append(r.Body.Length).AppendLine(" chars");
        File.WriteAllText(Path.Combine(dir, name + ".notes.txt"), notes.ToString());
    }

    /// <summary>Writes a request body to the scratch dir for manual study (only with ZEROSHOT_SAVE_TRANSCRIPTS=1).</summary>
    public static void SaveRequest(string name, RecordedRequest request, [CallerFilePath] string source = "")
    {
        if (Environment.GetEnvironmentVariable("ZEROSHOT_SAVE_TRANSCRIPTS") != "1")
            return;
        var dir = Path.Combine(Path.GetTempPath(), "zeroshot-requests");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, name + ".txt"),
            $"{request.Method} {request.Target}\n{string.Join('\n', request.Headers.Select(h => h.Key + ": " + h.Value))}\n\n{request.Body}");
    }
}

using System.CommandLine;
using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Metrics;

namespace Zeroshot.Cli.Commands;

/// <summary>Options of <c>zeroshot metrics</c>.</summary>
internal sealed record MetricsSettings(int Pid, TimeSpan Interval, int? Count, bool Json, bool Pss);

/// <summary><c>zeroshot metrics --pid PID</c>: samples a process tree and prints one record per interval.</summary>
internal static class MetricsCommand
{
    public static Command Create(CliContext context)
    {
        var pid = new Option<int>("--pid", "-p")
        {
            Description = "Root process of the tree to sample (it and all its descendants).",
            Required = true,
        };
        pid.Validators.Add(r => { if (OptionChecks.Value<int>(r) is <= 0) r.AddError("--pid must be a positive process id."); });
        var interval = new Option<int>("--interval", "-i")
        {
            Description = "Milliseconds between samples (50 to 3600000).",
            DefaultValueFactory = _ => 1000,
        };
        interval.Validators.Add(r =>
        {
            if (OptionChecks.Value<int>(r) is { } v && (v < 50 || v > 3_600_000))
                r.AddError($"--interval must be between 50 and 3600000 ms (got {v}).");
        });
        var count = new Option<int?>("--count", "-n") { Description = "Stop after this many records (default: until the process exits or Ctrl+C)." };
        count.Validators.Add(r => { if (OptionChecks.Value<int>(r) is < 1) r.AddError("--count must be at least 1."); });
        var json = new Option<bool>("--json") { Description = "One JSON object per line (NDJSON) instead of readable lines." };
        var pss = new Option<bool>("--pss") { Description = "Report proportional set size (PSS) instead of RSS: more accurate for trees, costs milliseconds per process." };

        var command = new Command("metrics",
            "Sample CPU, memory, disk I/O and network of a process and all its descendants. " +
            "The first record comes one interval after start; the command ends after --count records, " +
            "on Ctrl+C, or when the process exits (with a last record saying so).")
        {
            pid, interval, count, json, pss,
        };
        command.SetAction((parse, _) => RunAsync(
            new MetricsSettings(parse.GetValue(pid), TimeSpan.FromMilliseconds(parse.GetValue(interval)), parse.GetValue(count), parse.GetValue(json), parse.GetValue(pss)),
            context));
        return command;
    }

    public static Task<int> RunAsync(MetricsSettings settings, CliContext context) => Task.FromResult(Run(settings, context));

    private static int Run(MetricsSettings settings, CliContext context)
    {
        using var sampler = context.CreateSampler(new SamplerOptions { UsePss = settings.Pss });
        var roots = new[] { settings.Pid };
        var batch = new List<TreeSample>(1);
        sampler.Sample(roots, batch); // the baseline: rates need two readings
        if (!batch[0].Exists) throw new UserErrorException($"no such process: {settings.Pid}");

        using var output = new SampleOutput(context.Out, settings.Json);
        // This thread sleeps between samples (a timer would wake two threads a sample; see TickClock).
        var clock = new TickClock(settings.Interval, context.Time);
        int written = 0;
        try
        {
            // Ctrl+C (Shutdown) ends the wait, and the monitor with success: it is how a monitor is normally stopped.
            while (clock.WaitForNextTick(context.Shutdown))
            {
                batch.Clear();
                sampler.Sample(roots, batch);
                output.Write(batch[0]);
                if (!batch[0].Exists || ++written == settings.Count || Output.StandardOutput.ReaderGone()) break;
            }
        }
        catch (IOException) when (!context.Shutdown.IsCancellationRequested)
        {
            // The reader went away (`zeroshot metrics --json | head -1`: EPIPE, since .NET ignores
            // SIGPIPE): nobody is listening, which ends a monitor as Ctrl+C does.
        }
        return ExitCodes.Success;
    }

    /// <summary>Writes samples as NDJSON or readable lines, one flushed line per sample.</summary>
    private sealed class SampleOutput(TextWriter writer, bool json) : IDisposable
    {
        private readonly MemoryStream _buffer = new();
        private readonly Utf8JsonWriter _json = new(Stream.Null);

        public void Write(TreeSample sample)
        {
            if (json)
            {
                _buffer.SetLength(0);
                _json.Reset(_buffer);
                TreeSampleJson.Write(_json, sample);
                _json.Flush();
                writer.WriteLine(System.Text.Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
            }
            else
            {
                writer.WriteLine(MetricsText.Line(sample));
            }
            writer.Flush();
        }

        public void Dispose()
        {
            _json.Dispose();
            _buffer.Dispose();
        }
    }
}

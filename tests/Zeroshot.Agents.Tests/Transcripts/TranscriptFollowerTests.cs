using System.Collections.Concurrent;
using System.Text;
using Zeroshot.Agents.Transcripts;

namespace Zeroshot.Agents.Tests.Transcripts;

/// <summary><see cref="TranscriptFollower"/> on real files in a temp dir, fed in pieces as the CLIs write them.</summary>
public sealed class TranscriptFollowerTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("zs-follow-").FullName;
    private readonly ConcurrentQueue<string> _lines = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Collect(ReadOnlySpan<byte> line) => _lines.Enqueue(Encoding.UTF8.GetString(line));

    private static void Append(string path, string text)
    {
        using var f = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        f.Write(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Waits, up to a deadline, for <paramref name="condition"/>; fails with <paramref name="describe"/>.</summary>
    private static async Task WaitUntil(Func<bool> condition, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("not reached within " + Deadline + ": " + describe());
            await Task.Delay(10);
        }
    }

    private string Seen => string.Join(" | ", _lines);

    [Fact]
    public async Task Complete_lines_only_a_partial_line_waits_for_its_newline()
    {
        var path = Path.Combine(_dir, "t.jsonl");
        File.WriteAllText(path, "one\ntw");
        await using var follower = new TranscriptFollower(path, Collect);
        await WaitUntil(() => _lines.Count == 1, () => Seen);
        Append(path, "o");
        Append(path, "\r\nthree\n\nfo");
        await WaitUntil(() => _lines.Count == 3, () => Seen);
        Assert.Equal(["one", "two", "three"], _lines);
        Append(path, "ur\n");
        await WaitUntil(() => _lines.Count == 4, () => Seen);
        Assert.Equal("four", _lines.Last());
        Assert.Equal(4, follower.Lines);
    }

    [Fact]
    public async Task Waits_for_the_file_and_its_directory_to_appear()
    {
        var path = Path.Combine(_dir, "projects", "-w", "s.jsonl");
        await using var follower = new TranscriptFollower(path, Collect);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Append(path, "first\n");
        await WaitUntil(() => _lines.Count == 1, () => Seen);
        Append(path, "second\n");
        await WaitUntil(() => _lines.Count == 2, () => Seen);
        Assert.Equal(["first", "second"], _lines);
    }

    [Fact]
    public async Task Truncation_and_replacement_start_over_from_the_beginning()
    {
        var path = Path.Combine(_dir, "t.jsonl");
        File.WriteAllText(path, "a-long-first-line\nb-long-second-line\n");
        await using var follower = new TranscriptFollower(path, Collect);
        await WaitUntil(() => _lines.Count == 2, () => Seen);

        File.WriteAllText(path, "c\n"); // truncated and rewritten shorter
        await WaitUntil(() => _lines.Count == 3, () => Seen);
        Assert.Equal("c", _lines.Last());
        Assert.Equal(1, follower.Restarts);

        var next = Path.Combine(_dir, "t.jsonl.new");
        File.WriteAllText(next, "d-rotated-file-line-that-is-long\n");
        File.Move(next, path, overwrite: true); // replaced under the same name
        await WaitUntil(() => _lines.Count == 4, () => Seen);
        Assert.Equal("d-rotated-file-line-that-is-long", _lines.Last());
    }

    [Fact]
    public async Task Malformed_lines_are_counted_and_following_goes_on()
    {
        var path = Path.Combine(_dir, "t.jsonl");
        var usage = new ClaudeTranscriptUsage();
        await using var follower = new TranscriptFollower(path, line => usage.AddLine(line));
        Append(path, """{"type":"assistant","message":{"id":"m1","usage":{"input_tokens":3,"output_tokens":1}}}""" + "\n");
        Append(path, "{not json\n");
        Append(path, """{"type":"assistant","message":{"id":"m2","usage":{"input_tokens":4,""");
        Append(path, "\"output_tokens\":2}}}\n");
        await WaitUntil(() => follower.Lines == 3, () => $"{follower.Lines} lines");
        Assert.Equal(1, follower.MalformedLines);
        Assert.Equal(new Zeroshot.Agents.Output.TokenCounts(7, 3, 0, 0), usage.Tokens);
    }

    [Fact]
    public async Task Handler_exceptions_are_counted_not_thrown()
    {
        var path = Path.Combine(_dir, "t.jsonl");
        File.WriteAllText(path, "x\ny\n");
        await using var follower = new TranscriptFollower(path, line =>
        {
            if (line[0] == 'x')
                throw new InvalidOperationException("handler bug");
            Collect(line);
        });
        await WaitUntil(() => _lines.Count == 1, () => Seen);
        Assert.Equal(1, follower.HandlerErrors);
        Assert.IsType<InvalidOperationException>(follower.LastError);
    }

    [Fact]
    public async Task Large_lines_written_in_many_pieces_arrive_whole()
    {
        var path = Path.Combine(_dir, "t.jsonl");
        var big = new string('z', 300_000);
        await using var follower = new TranscriptFollower(path, Collect);
        for (int i = 0; i < big.Length; i += 50_000)
            Append(path, big.Substring(i, 50_000));
        Append(path, "\nend\n");
        await WaitUntil(() => _lines.Count == 2, () => $"{_lines.Count} lines");
        Assert.Equal(big, _lines.First());
    }

    [Fact]
    public async Task Dispose_stops_the_callbacks()
    {
        var path = Path.Combine(_dir, "t.jsonl");
        File.WriteAllText(path, "a\n");
        var follower = new TranscriptFollower(path, Collect);
        await WaitUntil(() => _lines.Count == 1, () => Seen);
        await follower.DisposeAsync();
        await follower.DisposeAsync(); // idempotent
        follower.Dispose();
        Append(path, "b\n");
        // Another follower proves the write is visible; the disposed one must not have delivered it.
        var seen = new ConcurrentQueue<string>();
        await using (new TranscriptFollower(path, l => seen.Enqueue(Encoding.UTF8.GetString(l))))
            await WaitUntil(() => seen.Count == 2, () => string.Join(",", seen));
        Assert.Equal(["a"], _lines);
    }
}

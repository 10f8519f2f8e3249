using System.Text;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Supervision;
using Zeroshot.Agents.Transcripts;

namespace Zeroshot.Agents.Tests.Transcripts;

/// <summary>
/// An interactive Gemini agent's chat files: where Gemini keeps them, found by the project and start time in their
/// first line, and followed into the run's usage (the recorded chat of the pinned CLI, Samples/gemini-tool-call.jsonl).
/// </summary>
public sealed class GeminiChatFileTests : IDisposable
{
    private static readonly DateTimeOffset Launched = new(2026, 12, 3, 7, 10, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("zs-gemini-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_state_folder_follows_GEMINI_CLI_HOME_then_HOME()
    {
        Assert.Equal("/g/.gemini", GeminiChat.Dir(name => name switch { "GEMINI_CLI_HOME" => "/g", "HOME" => "/h", _ => null }));
        Assert.Equal("/h/.gemini", GeminiChat.Dir(name => name switch { "GEMINI_CLI_HOME" => "", "HOME" => "/h", _ => null }));
    }

    [Fact]
    public void The_project_hash_is_the_sha256_of_the_real_cwd_as_Gemini_computes_it()
    {
        // echo -n /tmp | sha256sum
        Assert.Equal("e9671acd244849c57167c658fa2f969752048f7ab184a3dcf5c46cb4d56ae124", GeminiChat.ProjectHash("/tmp"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("/tmp"u8)), GeminiChat.ProjectHash("/tmp/"));
        var link = Path.Combine(_dir, "link");
        Directory.CreateSymbolicLink(link, "/tmp");
        Assert.Equal(GeminiChat.ProjectHash("/tmp"), GeminiChat.ProjectHash(link)); // process.cwd() is the real path
    }

    [Fact]
    public void Sessions_of_the_project_started_since_the_launch_are_found_oldest_first()
    {
        const string Project = "746d82d8a88a0f278c117242bc77fc61a0098f943e4c5ea7709821f01645e547";
        Assert.Empty(GeminiChat.FindSessions(_dir, Project, Launched, new HashSet<string>())); // no tmp folder yet
        var chats = Directory.CreateDirectory(Path.Combine(_dir, "tmp", "work", "chats")).FullName;
        Directory.CreateDirectory(Path.Combine(_dir, "tmp", "other")); // no chats folder: skipped
        string Write(string name, string project, string start, bool whole = true)
        {
            var path = Path.Combine(chats, name);
            var header = $$"""{"sessionId":"x","projectHash":"{{project}}","startTime":"{{start}}","kind":"main"}""";
            File.WriteAllText(path, whole ? header + "\n" : header[..20]);
            return path;
        }
        Write("session-2026-12-03T07-09-aaaaaaaa.jsonl", Project, "2026-12-03T07:09:30.000Z"); // before the launch
        Write("session-2026-12-03T07-10-bbbbbbbb.jsonl", "0123", "2026-12-03T07:10:05.000Z"); // another folder
        Write("session-2026-12-03T07-10-cccccccc.jsonl", Project, "2026-12-03T07:10:07.000Z", whole: false); // first line half-written
        var second = Write("session-2026-12-03T07-11-dddddddd.jsonl", Project, "2026-12-03T07:11:00.000Z");
        var first = Write("session-2026-12-03T07-10-eeeeeeee.jsonl", Project, "2026-12-03T07:10:02.500Z");
        File.WriteAllText(Path.Combine(chats, "notes.txt"), "not a session\n");

        Assert.Equal([first, second], GeminiChat.FindSessions(_dir, Project, Launched, new HashSet<string>()));
        Assert.Equal([second], GeminiChat.FindSessions(_dir, Project, Launched, new HashSet<string> { first }));
        // Once a session was found, its folder alone is listed.
        Assert.Equal([first, second], GeminiChat.FindSessions(_dir, Project, Launched, new HashSet<string>(), chats));
        Assert.Empty(GeminiChat.FindSessions(_dir, Project, Launched, new HashSet<string>(), Path.Combine(_dir, "tmp", "other", "chats")));
    }

    [Fact]
    public void A_malformed_first_line_throws_and_one_without_a_project_is_no_session()
    {
        Assert.Throws<InvalidDataException>(() => GeminiChat.ParseHeader("{\"projectHash\":"u8));
        Assert.Null(GeminiChat.ParseHeader("""{"sessionId":"x","startTime":"2026-12-03T07:10:02.500Z"}"""u8));
        Assert.Equal(("p", new DateTimeOffset(2026, 12, 3, 7, 10, 2, 500, TimeSpan.Zero)),
            GeminiChat.ParseHeader("""{"projectHash":"p","startTime":"2026-12-03T07:10:02.500Z"}"""u8));
    }

    [Fact]
    public async Task A_followed_chat_file_counts_each_model_message_once_as_it_is_written()
    {
        var chats = Directory.CreateDirectory(Path.Combine(_dir, "tmp", "work", "chats")).FullName;
        var path = Path.Combine(chats, "session-2026-12-03T07-10-7c0f3a9e.jsonl");
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Transcripts", "Samples", "gemini-tool-call.jsonl"));
        var usage = new RunUsage(ZeroshotSettings.Default.PriceFor);
        await using var followed = TranscriptUsage.Follow(ProviderCatalog.Gemini, path, usage);

        // Written as the CLI writes it: line by line, the tool call's message written again when its call completes.
        foreach (var line in lines)
            await File.AppendAllTextAsync(path, line + "\n", Encoding.UTF8);
        await followed.CompleteAsync();

        // Served: 3100 + 3300 uncached input, 600 + 2000 cached, 70 + 25 candidates and 9 + 4 thoughts (billed as output).
        var totals = usage.Snapshot();
        Assert.Equal(new TokenCounts(6400, 108, 2600, 0), totals.Tokens);
        Assert.Equal("gemini-2.5-flash", usage.Model);
        Assert.True(totals.CostUsd > 0, "priced by its model");
    }
}

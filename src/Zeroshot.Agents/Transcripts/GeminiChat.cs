using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Transcripts;

/// <summary>
/// One parsed line of a Gemini CLI chat file: a <c>gemini</c> message with its id, model and <c>tokens</c>
/// ({input (cache included), output (candidates), cached, thoughts, tool, total}), or nothing of interest.
/// </summary>
internal readonly record struct GeminiChatLine(bool IsModelMessage, string? MessageId, string? Model, TokenCounts Usage)
{
    /// <summary>A line that does not matter for tokens.</summary>
    public static GeminiChatLine Other => default;
}

/// <summary>
/// Gemini CLI's session file, <c>~/.gemini/tmp/&lt;project&gt;/chats/session-&lt;date&gt;T&lt;HH-mm&gt;-&lt;session id prefix&gt;.jsonl</c>
/// (&lt;project&gt; was the cwd's folder name, "work", in the recorded run; older versions used a hash): a metadata
/// line, then one line per message, with <c>{"$set": …}</c> lines updating metadata. A model message is written
/// again when its tool calls complete, with the same id and tokens: deduplicate by id. Recorded with the pinned
/// Gemini CLI in tests/Zeroshot.Agents.Tests/Transcripts/Samples/gemini-tool-call.jsonl.
/// </summary>
/// <summary>Where an interactive Gemini agent's chat files will appear: its state folder, its project, its launch; once
/// one was found, its <c>chats</c> folder alone (<paramref name="Chats"/>), so a tick lists one folder.</summary>
internal sealed record GeminiChatSearch(string Dir, string ProjectHash, DateTimeOffset Since, string? Chats = null);

internal static class GeminiChat
{
    /// <summary>
    /// The folder Gemini CLI keeps its state in: <c>$GEMINI_CLI_HOME/.gemini</c> when that is set, else
    /// <c>$HOME/.gemini</c> (its <c>homedir()</c>, Gemini CLI 0.61 <c>packages/core/src/utils/paths.ts</c>).
    /// </summary>
    /// <param name="environment">Variable lookup: the agent's environment.</param>
    public static string Dir(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string home = environment("GEMINI_CLI_HOME") is { Length: > 0 } cli ? cli
            : environment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".gemini");
    }

    /// <summary>
    /// Gemini's key for a project: the SHA-256 of its root (<c>path.resolve(cwd)</c>, the kernel's real cwd), in lower-case
    /// hex (<c>getProjectHash</c>, Gemini CLI 0.61): the <c>projectHash</c> of each chat file's first line.
    /// </summary>
    public static string ProjectHash(string cwd)
    {
        ArgumentException.ThrowIfNullOrEmpty(cwd);
        Span<byte> hash = stackalloc byte[Sha256.HashSizeInBytes];
        Sha256.HashData(System.Text.Encoding.UTF8.GetBytes(ClaudeTranscript.Resolve(cwd)), hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// The chat files (<c>&lt;gemini dir&gt;/tmp/&lt;project&gt;/chats/session-*.jsonl</c>) of sessions of project
    /// <paramref name="projectHash"/> that started at or after <paramref name="startedAfter"/>, oldest first, leaving out
    /// <paramref name="known"/>. A session is known by its first line (<c>{"sessionId", "projectHash", "startTime", …}</c>);
    /// only files written since <paramref name="startedAfter"/> are opened. Zeroshot does not choose Gemini's session id
    /// (see <see cref="Config.ProviderCatalog.InteractiveProviders"/>), so a session the person starts by hand in the same
    /// folder at the same time cannot be told apart: documented, not guessed around.
    /// </summary>
    /// <param name="geminiDir">Gemini's state folder (<see cref="Dir"/>).</param>
    /// <param name="projectHash">The project (<see cref="ProjectHash"/>).</param>
    /// <param name="startedAfter">Sessions that started before are not this agent's.</param>
    /// <param name="known">Files already followed.</param>
    /// <param name="chatsFolder">Only this <c>chats</c> folder (where an earlier session of the agent was); null: every project's.</param>
    public static List<string> FindSessions(string geminiDir, string projectHash, DateTimeOffset startedAfter, IReadOnlySet<string> known, string? chatsFolder = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(geminiDir);
        ArgumentException.ThrowIfNullOrEmpty(projectHash);
        ArgumentNullException.ThrowIfNull(known);
        var found = new List<(DateTimeOffset Start, string Path)>();
        try
        {
            var folders = chatsFolder is not null ? [chatsFolder]
                : Directory.EnumerateDirectories(Path.Combine(geminiDir, "tmp")).Select(project => Path.Combine(project, "chats"));
            foreach (var chats in folders)
            {
                if (!Directory.Exists(chats))
                    continue;
                foreach (var file in Directory.EnumerateFiles(chats, "session-*.jsonl"))
                {
                    if (known.Contains(file) || File.GetLastWriteTimeUtc(file) < startedAfter.UtcDateTime)
                        continue;
                    if (ReadHeader(file) is { } header && header.ProjectHash == projectHash && header.StartTime >= startedAfter)
                        found.Add((header.StartTime, file));
                }
            }
        }
        catch (Exception e) when (e is DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            // Not there yet (the CLI creates it with the session's first message), or not ours to read.
        }
        found.Sort((a, b) => a.Start.CompareTo(b.Start));
        return found.ConvertAll(f => f.Path);
    }

    /// <summary>A chat file's first line: its project and start time; null when it is not one (yet).</summary>
    private static (string ProjectHash, DateTimeOffset StartTime)? ReadHeader(string file)
    {
        Span<byte> buffer = stackalloc byte[1024];
        int read;
        using (var handle = File.OpenHandle(file))
            read = RandomAccess.Read(handle, buffer, 0);
        var line = buffer[..read];
        int newline = line.IndexOf((byte)'\n');
        if (newline < 0)
            return null; // not written whole yet: the next tick reads it
        try
        {
            return ParseHeader(line[..newline]);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Parses a chat file's first line; null when it names no project or start time.</summary>
    internal static (string ProjectHash, DateTimeOffset StartTime)? ParseHeader(ReadOnlySpan<byte> line)
    {
        var reader = TranscriptJson.Reader(line);
        TranscriptJson.StartObject(ref reader);
        string? project = null, start = null;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "projectHash"u8))
                project = TranscriptJson.String(ref reader);
            else if (TranscriptJson.Is(ref reader, "startTime"u8))
                start = TranscriptJson.String(ref reader);
            else
                TranscriptJson.SkipProperty(ref reader);
        }
        TranscriptJson.End(ref reader);
        return project is not null && DateTimeOffset.TryParse(start, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? (project, at) : null;
    }

    /// <summary>Parses one line; throws <see cref="InvalidDataException"/> on malformed JSON.</summary>
    public static GeminiChatLine Parse(ReadOnlySpan<byte> line, string? previousModel = null)
    {
        var reader = TranscriptJson.Reader(line);
        TranscriptJson.StartObject(ref reader);
        bool gemini = false, typeSeen = false;
        string? id = null, model = null;
        TokenCounts? usage = null;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "type"u8))
            {
                typeSeen = true;
                gemini = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("gemini"u8);
                if (!gemini)
                {
                    TranscriptJson.Count(ref reader);
                    return GeminiChatLine.Other; // user, info, error messages: no tokens
                }
            }
            else if (TranscriptJson.Is(ref reader, "id"u8))
                id = TranscriptJson.String(ref reader);
            else if (TranscriptJson.Is(ref reader, "model"u8))
                model = TranscriptJson.StringReusing(ref reader, previousModel);
            else if (TranscriptJson.Is(ref reader, "tokens"u8))
                usage = reader.TokenType == JsonTokenType.StartObject ? ReadTokens(ref reader) : Skip(ref reader);
            else
                TranscriptJson.SkipProperty(ref reader);
        }
        TranscriptJson.End(ref reader);
        return typeSeen && gemini && id is not null && usage is { } u ? new GeminiChatLine(true, id, model, u) : GeminiChatLine.Other;
    }

    /// <summary>
    /// Gemini's tokens: <c>input</c> is the prompt count with cached tokens inside it, <c>output</c> the candidates;
    /// thoughts are billed as output, so output is what <c>total</c> holds beyond the prompt (the same split as
    /// <see cref="JsonFields.GeminiUsage"/> applies to stream-json stats).
    /// </summary>
    private static TokenCounts ReadTokens(ref Utf8JsonReader reader)
    {
        long input = 0, output = 0, cached = 0, thoughts = 0, total = 0;
        bool totalSeen = false;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "input"u8))
                input = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "output"u8))
                output = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "cached"u8))
                cached = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "thoughts"u8))
                thoughts = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "total"u8))
            {
                total = TranscriptJson.Count(ref reader);
                totalSeen = true;
            }
            else
                TranscriptJson.SkipProperty(ref reader);
        }
        long billedOutput = totalSeen ? Math.Max(output, total - input) : output + thoughts;
        return TokenCounts.FromCodex(input, cached, billedOutput);
    }

    private static TokenCounts? Skip(ref Utf8JsonReader reader)
    {
        TranscriptJson.Count(ref reader);
        return null;
    }
}

namespace Zeroshot.TestModelServer;

/// <summary>
/// A scripted tool call that runs until the test lets it end: its shell command checks for a file once a second (at
/// most two minutes) and <see cref="Release"/> creates it. A test that must see an agent in its tool call waits on the
/// gate instead of racing a command of fixed length, which a loaded CI machine lost at 5 and at 15 seconds.
/// </summary>
/// <param name="directory">Where the gate file goes (the test's own temporary folder).</param>
public sealed class ToolGate(string directory)
{
    /// <summary>The file whose existence ends the tool call.</summary>
    public string Path { get; } = System.IO.Path.Combine(directory, "release-the-tool");

    /// <summary>
    /// The shell command: <paramref name="everySecond"/> (may use <c>$i</c>, the second's number), then the gate check.
    /// The loop is written out, not <c>$(seq …)</c>: Gemini's shell tool refuses command substitution.
    /// </summary>
    public string Command(string everySecond = ":") =>
        $"for i in {string.Join(' ', Enumerable.Range(1, 120))}; do {everySecond}; [ -e {Path} ] && break; sleep 1; done";

    /// <summary>Lets the tool call end (within its next second).</summary>
    public void Release() => File.WriteAllText(Path, "");
}

namespace Zeroshot.Agents.Tests.State;

/// <summary>A temp directory deleted (with everything in it) on dispose.</summary>
internal sealed class StoreTempDir : IDisposable
{
    public StoreTempDir()
    {
        Path = Directory.CreateTempSubdirectory("zeroshot-store-test-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

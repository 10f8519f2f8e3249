namespace Zeroshot.Terminal;

/// <summary>Benchmark entry for bench/Zeroshot.Bench: the footer's cost per frame.</summary>
internal static class FooterBenchmark
{
    /// <summary>A representative cluster: three agents, one running a tool.</summary>
    public static FooterModel SampleModel(int tick) => new(
        "cosmic-meteor-87", "running", 2, 3, TimeSpan.FromSeconds(192 + tick),
        [
            new FooterAgent("worker", "sonnet", "tool:Bash", true, ActivityKind.Tool, 23 + tick % 7, 67 + tick % 3,
                4300 + tick * 10 % 900, 1100, 3400 + tick * 13, 0.12m + tick * 0.001m, false, TimeSpan.FromSeconds(tick % 5)),
            new FooterAgent("validator-1", "haiku", "waiting", false, ActivityKind.Idle),
            new FooterAgent("validator-2", "opus", "model", true, ActivityKind.Model, 3, 24, 200, 90, 900, 0.03m, true,
                TimeSpan.FromSeconds(tick % 9)),
        ]);

    /// <summary>Renders and draws <paramref name="frames"/> frames (values change every frame, so each
    /// frame writes its changed rows) into <see cref="Stream.Null"/>; returns the bytes the footer wrote.</summary>
    public static long RenderFrames(int frames, int width = 160, int height = 48)
    {
        var renderer = new FooterRenderer(Stream.Null, TerminalCapabilities.Full, width, height);
        for (int i = 0; i < frames; i++) renderer.Draw(FooterView.Render(SampleModel(i), width, height));
        renderer.Teardown();
        return renderer.FooterBytesWritten;
    }
}

using System.Text;
using Zeroshot.Terminal.Escapes;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Terminal.Tests.Support;

/// <summary>
/// Compares a <see cref="ScreenModel"/> with a real tmux pane fed the same bytes: the visible text,
/// every cell's attributes (tmux's <c>capture-pane -e -p</c>, parsed back into a fresh model), the
/// cursor position and visibility.
/// </summary>
public static class ScreenOracle
{
    private static int _counter;

    /// <summary>A tmux pane's screen after <paramref name="bytes"/>: its <c>capture-pane -e</c> rows
    /// read into a model, and its cursor.</summary>
    internal sealed record TmuxScreen(ScreenModel Screen, int CursorRow, int CursorColumn, bool CursorVisible);

    /// <summary>Feeds <paramref name="bytes"/> to a fresh <paramref name="width"/>×<paramref name="height"/>
    /// tmux pane (raw tty: nothing translated) and reads the result back.</summary>
    internal static TmuxScreen RunInTmux(byte[] bytes, int width, int height)
    {
        var dir = Directory.CreateTempSubdirectory("zs-screen-").FullName;
        try
        {
            var file = Path.Combine(dir, "stream.bin");
            File.WriteAllBytes(file, bytes);
            // The sentinel title arrives after the stream through the same pty, so once tmux shows it
            // every byte before it has been processed.
            string sentinel = $"zs-done-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
            using var tmux = TmuxSession.Start(width, height, $"stty raw -echo; cat '{file}'; printf '\\033]2;{sentinel}\\033\\\\'; exec sleep 1000");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (tmux.Run("display-message", "-p", "-t", tmux.Name, "#{pane_title}").Trim() != sentinel)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("tmux never processed the stream");
                using var wait = new ManualResetEventSlim();
                wait.Wait(20);
            }
            var escaped = tmux.Run("capture-pane", "-p", "-e", "-t", tmux.Name);
            var state = tmux.State();
            var rows = escaped.Split('\n');
            if (rows.Length > 0 && rows[^1].Length == 0) rows = rows[..^1];
            var model = new ScreenModel(height, width, scrollback: 0);
            // tmux writes its line-drawing cells between SO and SI: G1 is the line-drawing set here.
            model.Feed("\e)0");
            model.Feed(string.Join("\r\n", rows));
            return new TmuxScreen(model, state.CursorRow, Math.Min(state.CursorColumn, width - 1), state.CursorVisible);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>One row as comparable text: each cell's character and rendition, trailing blank cells
    /// dropped whatever their rendition (tmux's capture trims trailing spaces from its output text, the
    /// escape sequences included, so a trailing inverse or coloured blank is lost there).</summary>
    internal static string Signature(ScreenModel model, int row)
    {
        var cells = new List<string>();
        int end = model.Columns;
        while (end > 0 && ShowsNothing(model.CellAt(row, end - 1))) end--;
        for (int c = 0; c < end; c++)
        {
            var cell = model.CellAt(row, c);
            if ((cell.Flags & CellFlags.Continuation) != 0) continue;
            var a = cell.Attr;
            a.UnderlineColor = default; // tmux 3.3's capture does not write underline colours
            var text = model.CellText(cell);
            if (text == " " && a == default) { cells.Add("_"); continue; }
            var sgr = new StringBuilder();
            ScreenSerializer.AppendSgr(sgr, a);
            cells.Add($"{text}{sgr.ToString()[2..]}");
        }
        return string.Join("", cells);
    }

    private static bool ShowsNothing(Cell cell) => cell.IsBlank;

    /// <summary>Every row's <see cref="Signature"/>.</summary>
    internal static string[] Signatures(ScreenModel model) =>
        [.. Enumerable.Range(0, model.Rows).Select(r => $"{r}: {Signature(model, r)}")];

    /// <summary>Asserts that <paramref name="model"/> and tmux, both fed <paramref name="bytes"/>, show
    /// the same text, attributes and cursor.</summary>
    internal static void AssertSameAsTmux(ScreenModel model, byte[] bytes, string what)
    {
        var tmux = RunInTmux(bytes, model.Columns, model.Rows);
        // Text from the -e capture (line drawing read back through SO/SI as the model keeps it).
        var tmuxText = tmux.Screen.Text();
        Assert.True(tmuxText.SequenceEqual(model.Text()),
            $"{what}: text differs\n--- tmux\n{string.Join('\n', tmuxText)}\n--- model\n{string.Join('\n', model.Text())}");
        var expected = Signatures(tmux.Screen);
        var actual = Signatures(model);
        for (int r = 0; r < expected.Length; r++) Assert.True(expected[r] == actual[r], $"{what}: attributes differ on row {r}\ntmux:  {expected[r]}\nmodel: {actual[r]}");
        Assert.True((tmux.CursorRow, tmux.CursorColumn) == (model.CursorRow, model.CursorColumn),
            $"{what}: cursor tmux ({tmux.CursorRow},{tmux.CursorColumn}) model ({model.CursorRow},{model.CursorColumn})");
        Assert.True(tmux.CursorVisible == model.CursorVisible, $"{what}: cursor visibility differs");
    }
}

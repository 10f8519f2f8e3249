using System.Text;

namespace Zeroshot.Dashboard.Tests;

public sealed class DashboardKeysTests
{
    private static List<DashboardKey> Decode(string bytes) => new DashboardKeys().Decode(Encoding.UTF8.GetBytes(bytes));

    [Theory]
    [InlineData("\e[A", (int)KeyKind.Up)]
    [InlineData("\eOA", (int)KeyKind.Up)] // application cursor mode (SS3)
    [InlineData("\e[B", (int)KeyKind.Down)]
    [InlineData("\eOB", (int)KeyKind.Down)]
    [InlineData("\e[5~", (int)KeyKind.PageUp)]
    [InlineData("\e[6~", (int)KeyKind.PageDown)]
    [InlineData("\e[H", (int)KeyKind.Home)]
    [InlineData("\e[1~", (int)KeyKind.Home)]
    [InlineData("\eOH", (int)KeyKind.Home)]
    [InlineData("\e[F", (int)KeyKind.End)]
    [InlineData("\e[4~", (int)KeyKind.End)]
    [InlineData("\r", (int)KeyKind.Enter)]
    [InlineData("\x7f", (int)KeyKind.Backspace)]
    [InlineData("\b", (int)KeyKind.Backspace)]
    [InlineData("\x03", (int)KeyKind.Interrupt)]
    [InlineData("\t", (int)KeyKind.Tab)]
    [InlineData("\e", (int)KeyKind.Escape)]
    public void Keys_in_both_their_forms(string bytes, int kind) => Assert.Equal([new DashboardKey((KeyKind)kind)], Decode(bytes));

    [Fact]
    public void Characters_and_sequences_in_one_read_come_out_in_order()
    {
        Assert.Equal([DashboardKey.Of('a'), new(KeyKind.Down), DashboardKey.Of('é'), new(KeyKind.Up), DashboardKey.Of('q')], Decode("a\e[Bé\eOAq"));
    }

    [Fact]
    public void An_escape_followed_by_more_in_the_same_read_is_a_sequence_and_a_lone_one_at_the_end_is_the_key()
    {
        var keys = new DashboardKeys();
        Assert.Equal([new DashboardKey(KeyKind.Escape)], keys.Decode([0x1B]));
        // The parser was reset: the next read is read from the ground state.
        Assert.Equal([DashboardKey.Of('x')], keys.Decode("x"u8));
        Assert.Equal([DashboardKey.Of('y'), new DashboardKey(KeyKind.Escape)], keys.Decode("y\e"u8));
    }

    [Fact]
    public void Sgr_mouse_reports_give_clicks_with_zero_based_cells_and_the_wheel_and_ignore_releases_and_motion()
    {
        Assert.Equal([new DashboardKey(KeyKind.Click, Column: 9, Row: 4)], Decode("\e[<0;10;5M"));
        Assert.Empty(Decode("\e[<0;10;5m")); // release
        Assert.Empty(Decode("\e[<32;11;5M")); // drag
        Assert.Empty(Decode("\e[<2;10;5M")); // right button
        Assert.Equal([new DashboardKey(KeyKind.WheelUp, Column: 0, Row: 0), new DashboardKey(KeyKind.WheelDown, Column: 0, Row: 1)], Decode("\e[<64;1;1M\e[<65;1;2M"));
    }

    [Fact]
    public void Unknown_sequences_and_controls_are_dropped()
    {
        Assert.Equal([DashboardKey.Of('z')], Decode("\e[15~\e]0;title\a\x01z"));
    }
}

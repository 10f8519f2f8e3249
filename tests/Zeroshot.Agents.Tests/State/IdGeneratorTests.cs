using System.Text.RegularExpressions;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Tests.State;

public class IdGeneratorTests
{
    [Fact]
    public void Ids_are_adjective_noun_two_digits_and_valid_everywhere()
    {
        var generator = new IdGenerator(new Random(42));
        for (var i = 0; i < 500; i++)
        {
            var id = generator.Next(_ => false);
            Assert.Matches(new Regex("^[a-z]+-[a-z]+-[1-9][0-9]$"), id);
            Assert.True(ClusterConfigLoader.IsValidId(id), id);
        }
    }

    [Fact]
    public void Word_lists_have_64_distinct_lowercase_words_each()
    {
        foreach (var words in new[] { IdGenerator.Adjectives, IdGenerator.Nouns })
        {
            Assert.Equal(64, words.Distinct().Count());
            Assert.Equal(64, words.Length);
            Assert.All(words, w => Assert.Matches("^[a-z]+$", w));
        }
    }

    [Fact]
    public void Same_seed_same_ids()
    {
        var a = new IdGenerator(new Random(7));
        var b = new IdGenerator(new Random(7));
        Assert.Equal(Enumerable.Range(0, 20).Select(_ => a.Candidate()), Enumerable.Range(0, 20).Select(_ => b.Candidate()));
    }

    [Fact]
    public void Taken_ids_are_skipped()
    {
        // Same seed: the first candidate of the second generator is the one already taken.
        var first = new IdGenerator(new Random(1)).Candidate();
        var taken = new HashSet<string> { first };
        var id = new IdGenerator(new Random(1)).Next(taken.Contains);
        Assert.NotEqual(first, id);
    }

    [Fact]
    public void Number_widens_after_repeated_collisions()
    {
        var asked = new List<string>();
        // Every two-digit id is "taken": the generator must move on to three digits, then four.
        var id = new IdGenerator(new Random(3)).Next(candidate =>
        {
            asked.Add(candidate);
            return !Regex.IsMatch(candidate, "-[0-9]{4}$");
        });
        Assert.Matches("^[a-z]+-[a-z]+-[1-9][0-9]{3}$", id);
        Assert.Equal(2 * IdGenerator.AttemptsPerWidth + 1, asked.Count);
        Assert.All(asked.Take(IdGenerator.AttemptsPerWidth), c => Assert.Matches("-[0-9]{2}$", c));
        Assert.All(asked.Skip(IdGenerator.AttemptsPerWidth).Take(IdGenerator.AttemptsPerWidth), c => Assert.Matches("-[0-9]{3}$", c));
    }

    [Fact]
    public void A_check_that_is_always_true_ends_with_an_error_not_a_hang()
    {
        Assert.Throws<InvalidOperationException>(() => new IdGenerator(new Random(0)).Next(_ => true));
    }

    [Fact]
    public void Next_checks_against_the_store()
    {
        using var dir = new StoreTempDir();
        using var store = StateStore.Open(dir.File("state.db"));
        var first = new IdGenerator(new Random(5)).Candidate();
        store.CreateCluster(ClusterRecord.New(first, ClusterTemplates.Demo(), DateTimeOffset.UnixEpoch));
        var id = new IdGenerator(new Random(5)).Next(store);
        Assert.NotEqual(first, id);
        Assert.False(store.Exists(id));
    }
}

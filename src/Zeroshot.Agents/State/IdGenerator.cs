namespace Zeroshot.Agents.State;

/// <summary>
/// Readable cluster ids of the form <c>adjective-noun-NN</c> (e.g. <c>cosmic-meteor-87</c>): easy to say, type
/// and tab through, with a unique prefix usually after the first word.
/// </summary>
/// <remarks>
/// 64 adjectives × 64 nouns × 90 two-digit numbers = 368,640 ids. Every <see cref="AttemptsPerWidth"/>
/// collisions the number gets one more digit (10–99, then 100–999, …), so even a crowded store terminates.
/// Words are lower-case ASCII letters only, valid as file names and in <see cref="Config.ClusterConfigLoader.IsValidId"/>.
/// </remarks>
internal sealed class IdGenerator(Random random)
{
    /// <summary>Collisions tolerated at one number width before widening.</summary>
    public const int AttemptsPerWidth = 8;

    internal static readonly string[] Adjectives =
    [
        "amber", "ancient", "autumn", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "crisp", "dapper",
        "eager", "early", "electric", "fancy", "fearless", "gentle", "golden", "grand", "happy", "hidden", "humble", "icy",
        "jolly", "keen", "lively", "lucky", "lunar", "mellow", "mighty", "misty", "noble", "odd", "olive", "patient",
        "polar", "proud", "quiet", "rapid", "rustic", "silent", "silver", "sleek", "solar", "sturdy", "sunny", "swift",
        "tidy", "tiny", "twilight", "urban", "velvet", "vivid", "wandering", "warm", "wild", "windy", "wise", "witty",
        "young", "zealous", "zen", "zesty",
    ];

    internal static readonly string[] Nouns =
    [
        "anchor", "aurora", "badger", "beacon", "breeze", "canyon", "cedar", "comet", "coral", "crane", "delta", "dune",
        "eagle", "ember", "falcon", "fern", "fjord", "forest", "galaxy", "glacier", "harbor", "hawk", "heron", "island",
        "jaguar", "lagoon", "lantern", "lotus", "maple", "meadow", "meteor", "nebula", "oasis", "orbit", "otter", "panda",
        "pebble", "pine", "planet", "prairie", "quasar", "raven", "reef", "river", "rocket", "sage", "sparrow", "spruce",
        "summit", "thunder", "tiger", "trail", "tundra", "valley", "voyager", "walrus", "willow", "wolf", "yak", "zephyr",
        "acorn", "bison", "cobalt", "dolphin",
    ];

    private readonly Random _random = random ?? throw new ArgumentNullException(nameof(random));

    /// <summary>A generator seeded from the OS (<see cref="Random.Shared"/>).</summary>
    public IdGenerator() : this(Random.Shared)
    {
    }

    /// <summary>One candidate id whose number has <paramref name="digits"/> digits (≥ 2).</summary>
    public string Candidate(int digits = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(digits, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digits, 9);
        var low = (int)Math.Pow(10, digits - 1);
        var number = _random.Next(low, low * 10);
        return $"{Adjectives[_random.Next(Adjectives.Length)]}-{Nouns[_random.Next(Nouns.Length)]}-{number}";
    }

    /// <summary>
    /// An id for which <paramref name="isTaken"/> is false (e.g. <see cref="StateStore.Exists"/>), widening the
    /// number after repeated collisions. Insert it with <see cref="StateStore.TryCreateCluster"/> and retry on false
    /// if two processes may race.
    /// </summary>
    public string Next(Func<string, bool> isTaken)
    {
        ArgumentNullException.ThrowIfNull(isTaken);
        for (var digits = 2; digits <= 9; digits++)
            for (var attempt = 0; attempt < AttemptsPerWidth; attempt++)
            {
                var id = Candidate(digits);
                if (!isTaken(id))
                    return id;
            }
        throw new InvalidOperationException("could not find a free cluster id; is the 'taken' check always true?");
    }

    /// <summary>An id not yet used in <paramref name="store"/>.</summary>
    public string Next(StateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return Next(store.Exists);
    }
}

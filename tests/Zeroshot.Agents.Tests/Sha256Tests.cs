using System.Security.Cryptography;
using System.Text;
using FsCheck.Xunit;

namespace Zeroshot.Agents.Tests;

/// <summary>The managed SHA-256 gives the digests of FIPS 180-4 and of the platform's implementation (OpenSSL here).</summary>
public class Sha256Tests
{
    private static string Hex(ReadOnlySpan<byte> data)
    {
        var hash = new byte[Sha256.HashSizeInBytes];
        Sha256.HashData(data, hash);
        return Convert.ToHexStringLower(hash);
    }

    [Theory]
    // FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty message.
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void Known_answers(string message, string digest) => Assert.Equal(digest, Hex(Encoding.ASCII.GetBytes(message)));

    [Fact]
    public void Every_length_around_the_block_and_padding_boundaries_matches_the_platform()
    {
        var data = new byte[300];
        new Random(7).NextBytes(data);
        for (int n = 0; n <= data.Length; n++)
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(0, n))), Hex(data.AsSpan(0, n)));
    }

    [Property(MaxTest = 300)]
    public bool Any_message_matches_the_platform(byte[] data) => Hex(data) == Convert.ToHexStringLower(SHA256.HashData(data));
}

using Bge.Core.Search;

namespace Bge.Tests.Core;

public sealed class TopKTests
{
    [Test]
    public void KeepsTheBestScoresWithTiesToTheLowerIndexInAnyOfferingOrder()
    {
        var random = new Random(5);
        // Few distinct values, so that ties are common.
        var scores = Enumerable.Range(0, 500).Select(_ => (float)random.Next(20)).ToArray();
        var expected = scores.Select((score, index) => (Index: index, Score: score)).OrderByDescending(x => x.Score).ThenBy(x => x.Index).ToArray();
        foreach (var k in new[] { 1, 7, 100, 500, 800 })
        {
            foreach (var order in new[] { Enumerable.Range(0, 500), Enumerable.Range(0, 500).Reverse(), Enumerable.Range(0, 500).OrderBy(_ => random.Next()) })
            {
                var best = new TopK(k);
                foreach (var i in order)
                {
                    best.Add(i, scores[i]);
                }

                Assert.That(best.Count, Is.EqualTo(Math.Min(k, scores.Length)));
                Assert.That(best.Best(), Is.EqualTo(expected.Take(k).ToArray()));
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TopK(0));
    }
}

using Bge.Weights;

namespace Bge.Tests.Weights;

public sealed class EncoderConfigTests
{
    private const string BgeBase = """
        {"_name_or_path": "/root/.cache/torch/sentence_transformers/BAAI_bge-base-en/", "architectures": ["BertModel"],
         "attention_probs_dropout_prob": 0.1, "classifier_dropout": null, "gradient_checkpointing": false,
         "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "id2label": {"0": "LABEL_0"},
         "initializer_range": 0.02, "intermediate_size": 3072, "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-12,
         "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 12,
         "pad_token_id": 0, "position_embedding_type": "absolute", "torch_dtype": "float32",
         "transformers_version": "4.30.0", "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522}
        """;

    [Test]
    public void ReadsAHubConfig()
    {
        var config = EncoderConfig.Parse(BgeBase, "config.json");
        Assert.That(config, Is.EqualTo(new EncoderConfig(30522, 768, 12, 12, 3072, 512, 2, 1e-12, "gelu")));
        Assert.That(config.HeadSize, Is.EqualTo(64));
    }

    [Test]
    public void RoundTripsThroughToJson()
    {
        var config = new EncoderConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu");
        Assert.That(EncoderConfig.Parse(config.ToJson(), "x"), Is.EqualTo(config));
    }

    [TestCase("\"num_attention_heads\": 12", "\"num_attention_heads\": 10", "not divisible")]
    [TestCase("\"hidden_size\": 768,", "", "'hidden_size' is missing")]
    [TestCase("\"hidden_size\": 768", "\"hidden_size\": \"768\"", "not an integer")]
    [TestCase("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"", "not supported")]
    [TestCase("\"num_hidden_layers\": 12", "\"num_hidden_layers\": 0", "num_hidden_layers is 0")]
    [TestCase("\"model_type\": \"bert\"", "\"model_type\": \"gpt2\"", "model_type is 'gpt2'; supported: bert, xlm-roberta, roberta")]
    [TestCase("\"position_embedding_type\": \"absolute\"", "\"position_embedding_type\": \"relative_key\"", "position_embedding_type is 'relative_key'")]
    [TestCase("\"max_position_embeddings\": 512, \"model_type\": \"bert\"", "\"max_position_embeddings\": 1, \"model_type\": \"xlm-roberta\"", "max_position_embeddings is 1; positions start at 1")]
    [TestCase("{", "[", "not valid JSON")]
    public void RefusesABadConfigNamingTheProblem(string from, string to, string message)
    {
        var error = Assert.Throws<ModelFormatException>(() => EncoderConfig.Parse(BgeBase.Replace(from, to), "dir/config.json"));
        Assert.That(error!.Message, Does.Contain(message).And.Contain("dir/config.json"));
    }
}

using Bge.Core;
using Bge.Reference;
using Bge.Weights;
using Bge.Weights.Onnx;

namespace Bge.Benchmarks;

/// <summary>
/// One engine of <c>compare</c>: ours or ONNX Runtime at one precision, and the files it loads for a model. The
/// parent writes them (<see cref="Prepare"/>) before any child runs, so a child's load time is reading what a user
/// would ship, never converting it.
/// </summary>
/// <param name="Ort">ONNX Runtime rather than ours.</param>
/// <param name="Precision">Ours: how the Linear weights are held. ONNX Runtime: fp32, or int8 through its own dynamic
/// quantization (the graph quantize_dynamic writes: DynamicQuantizeMatMul over per-tensor symmetric int8 weights).</param>
internal sealed record CompareEngine(bool Ort, Precision Precision)
{
    /// <summary>The random BERT-base-shaped model's name among the models (<see cref="BertBase"/>).</summary>
    public const string BertBaseModel = "bert-base";

    public string Label => $"{Kind} {Precisions.Name(Precision)}";

    /// <summary>The child's first argument.</summary>
    public string Argument => Ort ? "ort" : "ours";

    private string Kind => Ort ? "ORT" : "ours";

    public static CompareEngine Parse(string engine, string precision) =>
        new(engine switch { "ort" => true, "ours" => false, _ => throw new ArgumentException($"'{engine}' is neither ours nor ort") }, Precisions.Parse(precision));

    /// <summary>The fp32 model directory: config, tokenizer and pooling, whichever engine runs.</summary>
    public static string SourceDirectory(string model) => model == BertBaseModel ? BertBase.Directory : BenchModels.Directory(model);

    /// <summary>Ours: the model directory; ONNX Runtime: the ONNX file.</summary>
    public string ModelPath(string model) => (Ort, Precision) switch
    {
        (false, Precision.Fp32) => SourceDirectory(model),
        (false, _) => Path.Combine(Path.GetTempPath(), $"bge-bench-{model}-{Precisions.Name(Precision)}"),
        (true, Precision.Fp32) when model == BertBaseModel => BertBase.OnnxFile,
        (true, Precision.Fp32 or Precision.Int8) => Path.Combine(Path.GetTempPath(), $"bge-bench-{model}-ort-{Precisions.Name(Precision)}.onnx"),
        _ => throw new NotSupportedException($"ONNX Runtime's CPU provider has no {Precisions.Name(Precision)} MatMul"),
    };

    /// <summary>The size of the weights file the engine loads, in MB.</summary>
    public double Megabytes(string model) =>
        new FileInfo(Ort ? ModelPath(model) : Path.Combine(ModelPath(model), "model.safetensors")).Length / 1e6;

    /// <summary>
    /// Writes what <see cref="ModelPath"/> names: ours below fp32 as <see cref="ModelQuantizer"/> writes it (as
    /// <c>bge model quantize</c> does); ONNX Runtime's graph as provisioned, or for int8 the same tensors quantized.
    /// </summary>
    public void Prepare(string model)
    {
        if (model == BertBaseModel)
        {
            BertBase.EnsureWritten();
        }

        var path = ModelPath(model);
        if (!Ort && model != BertBaseModel)
        {
            RerankCase.Prepare(model, Precision);
        }

        if (!Ort && Precision != Precision.Fp32)
        {
            ModelQuantizer.Write(ModelDirectory.Open(SourceDirectory(model)), path, Precision);
        }
        else if (Ort && model != BertBaseModel)
        {
            var onnx = BenchModels.Onnx(model);
            if (Precision == Precision.Int8)
            {
                var imported = OnnxBertImporter.Map(OnnxGraph.Parse(onnx, model));
                onnx = OnnxBertExport.Build(imported.Config, imported.Tensors, int8: true);
            }

            File.WriteAllBytes(path, onnx);
        }
    }
}

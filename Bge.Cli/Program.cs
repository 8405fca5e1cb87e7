return Bge.Cli.NativeDispatch.TryRunWidest(args) ?? Bge.Cli.CliApp.Run(args);

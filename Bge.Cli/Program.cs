Bge.Cli.NativeDispatch.ExecWidest(args);
return Bge.Cli.CliApp.Run(args);

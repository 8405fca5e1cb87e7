return Bge.Cli.CliApp.Run(args);

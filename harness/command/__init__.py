"""The command line: parse, load plugins, call one plan or gate, print."""

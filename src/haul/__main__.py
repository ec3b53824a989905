from haul.cli.main import app

app()

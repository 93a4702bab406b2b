"""The WSGI entry point: gunicorn serves `wsgi:app`."""

from timebank.app import create_app

app = create_app()

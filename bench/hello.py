"""The yardstick for `make bench`: a hello-world Flask app whose view returns a small JSON body."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify({"hello": "world"})

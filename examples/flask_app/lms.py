"""Example LMS: a third-party app that signs members in with iMIS Single Sign-On.

iMIS's Single Sign-On content item POSTs a `refresh_token` to our Login redirect URL (/sso); we
redeem it at iMIS's /token with our client credentials and keep who the member is.
"""

import requests
from flask import Flask, redirect, request, session


def create_app(config: dict) -> Flask:
    app = Flask(__name__)
    app.config.update(config)

    @app.post("/sso")
    def sso():
        response = requests.post(
            app.config["IMIS_URL"] + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": request.form.get("refresh_token", ""),
                "client_id": app.config["IMIS_CLIENT_ID"],
                "client_secret": app.config["IMIS_CLIENT_SECRET"],
            },
            timeout=10,
        )
        if response.status_code != 200:
            error = response.json().get("error", "unknown") if response.content else "no body"
            return f"Sign-in failed: {error}", 401
        tokens = response.json()
        session["user"] = tokens["userName"]
        session["access_token"] = tokens["access_token"]
        return redirect("/")

    @app.get("/")
    def home():
        user = session.get("user")
        return f"Welcome, {user}" if user else "Not signed in"

    return app

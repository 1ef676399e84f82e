"""`python serve.py app:app` (or sample:app): the server `make run` uses (imis_mock/serving.py)."""

from imis_mock.serving import main

if __name__ == "__main__":
    main()

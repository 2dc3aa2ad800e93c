"""Using a trained run: loading and predicting, evaluate, Kaggle submissions, baselines, catalogs of any images."""

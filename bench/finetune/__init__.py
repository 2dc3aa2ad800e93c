"""`make finetune-bench`: how many labels finetuning saves, through the shipped `train.finetuning.finetune.finetune`.

Trunks: the Kaggle-sized one of `make pretrain` (61,578 galaxies, or `--source`) and the default recipe trained 20
minutes on the quality set (bench.data). The survey (survey.py) is `--train` (24,000) training and 3,000 test
galaxies of `--seed`: 74 reports; settings were chosen on 73 (`make finetune-rates`, rates.py). Part `labels`
(labels.py): for rings, bar length and the Sersic index, at 100, 300, 1,000 and 3,000 labels drawn at random (ring
draws redrawn until they hold 2 rings), 3 draws each, `finetune()` trains with its defaults but for up to EPOCHS
with PATIENCE, so that every model stops when its held-out loss stops improving: `auto` (the finetuned model, and
with it the same model from scratch, `--compare`) and, for the regressions, the head alone (`--unfreeze none`);
at 3,000 the head alone and the model from scratch. Each is scored on the survey's test galaxies with `predict`'s
views (`--counts 300,1000 --questions "rings,Sersic index"` run those alone). Part `rounds` (rounds.py) adds a
user's labelling rounds, part `ceiling` what any labels from the rounds' pool reach. Results go to
bench/finetune-SEED.json after every model (cells.py); rerun after an interruption and only what it lacks is
trained. Prints the tables; report.py draws docs/finetune.png.
"""

"""Settings as plain values: FitConfig and the named recipes that `fit --recipe` picks, FinetuneConfig, and the
names every choice can take (so the command line knows them, and its defaults, without importing TensorFlow)."""

from dataclasses import dataclass, replace

from train.fitting import schedules

MODELS = ("compact", "centre", "centre-context", "vgg16", "viewpoints", "viewpoints-mean")  # train.model.models
HEADS = ("tree", "divisive", "sigmoid", "dirichlet")
# The least concentration the dirichlet head predicts (train.model.heads.DirichletHead): Zoobot's 1 (Walmsley et al.
# 2022). A floor of 0.01, for rare answers whose concentrations lie below 1, was measured and changed nothing beyond
# a seed's noise (docs/experiments.md, "Vote counts: the Dirichlet head's floor").
CONCENTRATION_FLOOR = 1.0
LOSSES = ("crossentropy", "mse", "dirichlet")  # built by train.model.losses
SCHEDULES = tuple(schedules.SCHEDULES)
PRECISIONS = ("float32", "bfloat16", "mixed")
STRATEGIES = ("none", "mirrored", "multiworker")  # tf.distribute, see train.fitting.distribute
UNFREEZE = ("auto", "none", "top", "all")  # what a finetune trains of the trunk, see train.finetuning.finetune
MAX_EPOCHS = 10_000  # the epoch cap of a run trained for a time budget instead of a number of epochs
PREDICT_BATCH = 64  # images per model call when predicting (evaluate, submit, predict)
DECODE_JOBS = 2  # processes decoding images for `predict` and a finetune's labels


@dataclass(frozen=True)
class FitConfig:
    """The default recipe: the compact CNN on the central box without dropout, the softmax tree head trained on each
    question's cross-entropy, Adam with weight decay, in-model augmentation without zoom and a learning rate held,
    then cooled down over the last 30% of training. It measured best at equal time on 2 CPU cores
    (docs/experiments.md)."""

    recipe: str = "default"
    model: str = "centre"
    head: str = "tree"
    # crossentropy: each question's, given that it was reached (train.model.losses.tree_crossentropy; on vote counts,
    # weighted by the votes); mse: the squared error of the 37 columns, the competition's metric; dirichlet: the
    # likelihood of a campaign's vote counts (train.model.losses.DirichletMultinomial), with the dirichlet head
    loss: str = "crossentropy"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 30
    minutes: float | None = None  # a wall-clock budget: stop after the epoch that passes it
    batch: int = 64
    augment: bool = True  # RandomAffine inside the model
    # Largest zoom of the augmentation (1: none). Volunteers' votes depend on how well a galaxy shows: far
    # galaxies, more blurred, get vaguer answers (Galaxy Zoo's "redshift bias", Willett et al. 2013 section 3.3;
    # synth/galaxy.py's visibility), so zooming can change what the votes should be: `make quality` compares
    # both (docs/results.md; docs/experiments.md, "Models at equal time", for the earlier generators).
    zoom: float = 1.0
    # Random survey looks while training (train.model.layers.SurveyLook: stretch, colour balance, saturation), so
    # that a model of the synthetic sky does not lean on its one look (bench/real.py measures it on real galaxies).
    look: bool = False
    # Rate of the dropout of the dense layers. The default has none: in 20 minutes on the quality set dropout
    # slows learning without a gain beyond a seed's noise (docs/experiments.md, "Models at equal time").
    dropout: float = 0.0
    # Decoupled weight decay (Keras's `weight_decay`, as in AdamW) of the kernels; biases and the batch
    # normalisation's scale and offset are not decayed (train.fitting.fit.NOT_DECAYED). 0.2 measured best at 20
    # minutes on the quality set (docs/experiments.md, "Models at equal time").
    weight_decay: float = 0.2
    patience: int | None = None  # epochs without a better val_rmse before stopping; None: never stop early
    # train.fitting.schedules names each. steps is the Kaggle winner's; cooldown measured best at 20 minutes, cosine
    # no better than steps (docs/experiments.md, "Models at equal time")
    schedule: str = "cooldown"
    seed: int = 0
    warmup: int = 0  # training images before the divisive head divides (his 10,000): clipped outputs until then
    ema: bool = False  # validate and keep the exponential moving average of the weights (Keras's use_ema)
    loader_workers: int = 1  # processes reading batches ahead (Keras's workers with use_multiprocessing)
    precision: str = "float32"  # bfloat16: mixed_bfloat16; mixed: mixed_float16 (outputs in float32)
    jit: bool = False  # XLA
    tensorboard: bool = False  # TensorBoard logs (and a profile of a few batches) in the run folder
    strategy: str = "none"


RECIPES = {
    "default": FitConfig(),
    # The Kaggle winner's ideas at CPU size: viewpoint parts through a shared trunk without normalisation layers
    # and with his initialisation, maxout, dropout, his divisive head after 10,000 images of warm-up,
    # rotation/zoom/shift/flip augmentation, the learning rate divided by 10 at 72% and 92%. With batch
    # normalisation in the trunk it collapsed to constant predictions; his SGD (0.04, batch 16) learned nothing
    # in its first 4 minutes here, so it keeps Adam (docs/experiments.md).
    # His WEIGHT_DECAY is 0.0 (in an update rule that would spare the biases); the recipe decays nothing either.
    # His dropout of 0.5 before each dense layer ("absolutely essential", he wrote) regularised hundreds of GPU
    # epochs; in the 40-50 epochs of 20 CPU minutes the network underfits with it (training RMSE above validation
    # RMSE in every epoch), the less the lower the rate (docs/experiments.md, "Models at equal time").
    "winner": FitConfig(
        recipe="winner",
        model="viewpoints",
        head="divisive",
        loss="mse",
        dropout=0.1,
        weight_decay=0.0,
        schedule="steps",
        zoom=1.3,
        warmup=10_000,
    ),
    # The seed as published: VGG16 layout, 37 sigmoids, RMSprop at 1e-6, MSE, no augmentation, no weight decay.
    "seed": FitConfig(
        recipe="seed",
        model="vgg16",
        head="sigmoid",
        loss="mse",
        dropout=0.5,
        weight_decay=0.0,
        optimizer="rmsprop",
        lr=1e-6,
        epochs=42,
        augment=False,
        patience=5,
        schedule="constant",
    ),
}


def configure(recipe: str, **overrides) -> FitConfig:
    """The recipe with the given settings changed; a time budget without an epoch count lifts the epoch cap, and
    the divisive head trains on the squared error unless told otherwise. A ValueError names a combination that
    cannot train."""
    changed = {k: v for k, v in overrides.items() if v is not None}
    if changed.get("minutes") and "epochs" not in changed:
        changed["epochs"] = MAX_EPOCHS
    config = replace(RECIPES[recipe], **changed)
    if config.head == "divisive" and config.loss == "crossentropy":
        # An answer that the divisive head's clamp holds at zero for every galaxy gets no gradient through the
        # clamp, and the cross-entropy gives nothing else that revives it: on the quality set Q6 stayed constant
        # for 70 epochs of 20 minutes; on the squared error (the winner's) it recovered after 20.
        if "loss" in changed:
            raise ValueError(
                "--loss crossentropy cannot train the divisive head: an answer that its clamp holds at zero gets "
                "no gradient and never comes back; use --loss mse"
            )
        config = replace(config, loss="mse")
    if config.loss == "dirichlet" and "head" not in changed:
        config = replace(config, head="dirichlet")
    if config.loss == "crossentropy" and config.head != "tree":
        raise ValueError(f"--loss crossentropy needs the tree head, not {config.head}; use --loss mse")
    if (config.loss == "dirichlet") != (config.head == "dirichlet"):
        raise ValueError("--loss dirichlet and the dirichlet head go together: its outputs are concentrations")
    return config


@dataclass(frozen=True)
class FinetuneConfig:
    unfreeze: str = "auto"
    epochs: int = 60
    minutes: float | None = None  # a wall-clock budget instead of (within) the epochs
    batch: int = 32
    lr: float = 1e-3
    unfreeze_lr: float = 1e-4  # the rate once the trunk is unfrozen (Zoobot: 1e-3 for the head, then lower)
    unfreeze_decay: float = 1.0  # each trunk block below the head at this times the rate above it (block_rates)
    patience: int | None = 15  # epochs without a better held-out loss before stopping
    valid: float = 0.2  # the held-out part: a share, or (above 1) a number of galaxies
    seed: int = 0
    compare: bool = True  # also train the same trunk and head from scratch, for the report

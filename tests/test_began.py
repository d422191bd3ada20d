"""BEGAN (gan_jax/games/began.py): the k_t update rule and M_global on constructed numbers, the
losses the players minimise, config checks, and k_t in State.aux through the loop (exact resume
of a checkpointed k_t, the headline)."""

from __future__ import annotations

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import leaves, load_config, tiny_run

from gan_jax import checkpointing, data, runs, steps, train
from gan_jax.errors import ConfigError
from gan_jax.games import GAMES, began


def tiny_config(steps_: int = 3, preset: str | None = None, **overrides):
    sizes = {"model.width": 8, "model.z_dim": 8, "game.code_dim": 8, "game.headline_samples": 16}
    return tiny_run("began", steps_, preset, **{**sizes, **overrides})


# --- the control and the measure ----------------------------------------------------------


def test_k_update_is_proportional_control_clipped_to_the_unit_interval():
    k = began.k_update(0.5, 0.2, 0.05, gamma=0.5, lambda_k=0.001)
    np.testing.assert_allclose(k, 0.5 + 0.001 * (0.5 * 0.2 - 0.05), rtol=1e-7)
    # G's loss above gamma L(x): k falls; below: k rises; never out of [0, 1].
    assert float(began.k_update(0.5, 0.2, 0.3, gamma=0.5, lambda_k=0.01)) < 0.5
    np.testing.assert_allclose(began.k_update(0.0, 0.2, 0.3, gamma=0.5, lambda_k=1.0), 0.0)
    np.testing.assert_allclose(began.k_update(0.99, 1.0, 0.0, gamma=1.0, lambda_k=1.0), 1.0)


def test_m_global_is_the_real_loss_plus_the_absolute_imbalance():
    np.testing.assert_allclose(began.m_global(0.2, 0.05, 0.5), 0.2 + 0.05, rtol=1e-6)
    np.testing.assert_allclose(began.m_global(0.2, 0.15, 0.5), 0.2 + 0.05, rtol=1e-6)
    np.testing.assert_allclose(began.m_global(0.2, 0.1, 0.5), 0.2, rtol=1e-6)  # at equilibrium


def test_one_step_applies_the_paper_losses_and_the_k_update():
    cfg = tiny_config(**{"game.k_init": 0.25, "game.lambda_k": 0.1, "game.gamma": 0.4})
    run = runs.build_run(cfg)
    state = run.init_state(jax.random.key(0))
    assert float(state.aux["k"]) == 0.25 and float(state.aux["real_loss"]) == 0.0
    new, m = steps.make_train_step(run.game)(
        jax.tree.map(jnp.copy, state), run.sample_batches(run.data_key(), 0)
    )
    # Critic: L(x) - k_t L(G(z_D)) with the k_t of the state.
    np.testing.assert_allclose(m["d/k"], 0.25)
    np.testing.assert_allclose(m["d/loss"], m["d/real"] - 0.25 * m["d/fake"], rtol=1e-5)
    # Generator: L(G(z_G)); k_{t+1} from the critic's L(x) and this L(G(z_G)).
    np.testing.assert_allclose(m["g/loss"], m["g/fake"], rtol=1e-6)
    expected_k = np.clip(0.25 + 0.1 * (0.4 * m["d/real"] - m["g/fake"]), 0, 1)
    np.testing.assert_allclose(new.aux["k"], expected_k, rtol=1e-5)
    np.testing.assert_allclose(m["g/k"], new.aux["k"])
    np.testing.assert_allclose(new.aux["real_loss"], m["d/real"], rtol=1e-6)
    np.testing.assert_allclose(
        m["g/m_global"], m["d/real"] + abs(0.4 * m["d/real"] - m["g/fake"]), rtol=1e-5
    )


class StubContext:
    """G(z) = a (a constant image), D(v) = b v (a scaled copy), parameters ``{'g': a, 'd': b}``;
    steps.Context's API as the BEGAN losses use it."""

    def __init__(self, params, aux):
        self.params, self.aux, self.new_aux = params, aux, {}

    def __call__(self, name, *inputs, train):
        if name == "g":
            return jnp.full((inputs[0].shape[0], 2, 2, 1), self.params["g"])
        return self.params["d"] * inputs[0], None

    def normal(self, key, shape):
        return jax.random.normal(key, shape)

    def set_aux(self, name, value):
        self.new_aux[name] = value


def test_the_stop_gradients_critic_sees_fakes_as_inputs_and_g_moves_only_its_own_loss():
    """L(v) = mean |v - b v| = |1 - b| mean |v|: with x = 1, G(z) = a = 0.5, b = 0.2 (so
    1 - b > 0): L(x) = 0.8, L(G(z)) = 0.4. Critic: L_D = L(x) - k L(G(z)), dL_D/db = -1 + k a
    and no gradient into G; generator: dL_G/da = 1 - b = 0.8, and k_{t+1} carries no gradient."""
    latent = began.classic.Latent(3, 0)
    x = {"x": jnp.ones((4, 2, 2, 1))}
    aux = {"k": jnp.asarray(0.25), "real_loss": jnp.asarray(0.8)}

    def d_loss(params):
        return began.critic_loss(
            StubContext(params, aux), x, jax.random.key(0), latent=latent, eta=1
        )

    params = {"g": jnp.asarray(0.5), "d": jnp.asarray(0.2)}
    (loss, terms), grads = jax.value_and_grad(d_loss, has_aux=True)(params)
    np.testing.assert_allclose([terms["real"], terms["fake"]], [0.8, 0.4], rtol=1e-6)
    np.testing.assert_allclose(loss, 0.8 - 0.25 * 0.4, rtol=1e-6)
    np.testing.assert_allclose(grads["d"], -1.0 + 0.25 * 0.5, rtol=1e-6)
    assert float(grads["g"]) == 0.0  # the fakes enter the critic's loss as constants

    def g_loss(params):
        ctx = StubContext(params, aux)
        out = began.generator_loss(
            ctx, x, jax.random.key(1), latent=latent, eta=1, gamma=0.5, lambda_k=0.1
        )
        return out[0] + ctx.new_aux["k"], out[1]  # k_{t+1} must add no gradient

    (loss, terms), grads = jax.value_and_grad(g_loss, has_aux=True)(params)
    np.testing.assert_allclose(grads["g"], 0.8, rtol=1e-6)
    np.testing.assert_allclose(grads["d"], -0.5, rtol=1e-6)  # d L(G) / db (D is frozen there)
    np.testing.assert_allclose(terms["k"], 0.25 + 0.1 * (0.5 * 0.8 - 0.4), rtol=1e-6)


@pytest.mark.slow  # covered by the game's end-to-end test in the default run
def test_lambda_k_zero_keeps_k_fixed_and_l2_changes_the_losses():
    run = runs.build_run(tiny_config(**{"game.lambda_k": 0.0, "game.k_init": 0.7}))
    state = jax.jit(run.init_state)(jax.random.key(0))
    step = steps.make_train_step(run.game)
    for i in range(2):
        state, _ = step(state, run.sample_batches(run.data_key(), i))
    assert float(state.aux["k"]) == pytest.approx(0.7)
    run1 = runs.build_run(tiny_config())
    run2 = runs.build_run(tiny_config(**{"game.eta": 2}))
    s = run1.init_state(jax.random.key(0))
    batch = jax.tree.map(lambda a: a[0], run1.sample_batches(run1.data_key(), 0))
    _, m1 = steps.update(run1.game, run1.game.players[0], s, batch)
    _, m2 = steps.update(run2.game, run2.game.players[0], s, batch)
    # Errors in [0, 2]: the mean square differs from the mean absolute value.
    assert float(m1["d/real"]) != pytest.approx(float(m2["d/real"]), rel=1e-3)


@pytest.mark.parametrize(
    "key,value",
    [
        ("game.gamma", 0.0),
        ("game.gamma", 1.5),
        ("game.lambda_k", -0.001),
        ("game.k_init", 1.1),
        ("game.eta", 3),
        ("game.code_dim", 0),
        ("game.activation", "relu"),
        ("model.name", "resnet"),
        ("model.num_classes", 10),
        ("objective.penalty", "gp"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(key, value):
    cfg = load_config("began", **{key: value})
    with pytest.raises(ConfigError) as info:
        runs.build_run(cfg)
    assert info.value.key == key


def test_the_recipe_is_the_registered_game_and_presets_set_gamma():
    cfg = load_config("began")
    assert GAMES[cfg.game.name] is began
    assert dict(cfg.game) == {"name": "began", **began.DEFAULTS}
    assert cfg.model.d_norm == "none"
    assert load_config("began", "digits_g0.3").game.gamma == 0.3
    assert load_config("began", "mnist5k_g0.7").data.resolution == 32


def test_the_generator_is_the_critic_s_decoder_shape_with_its_own_weights():
    run = runs.build_run(tiny_config())
    state = run.init_state(jax.random.key(0))
    g, d = state.nets["g"].params, state.nets["d"].params
    decoder = {name: p for name, p in d.items() if name.startswith("dec")}
    shapes = lambda tree: jax.tree.map(lambda x: x.shape, tree)
    assert shapes(g) == shapes(decoder)  # model.z_dim = game.code_dim = 8 here
    assert not np.allclose(g["dec_project"]["kernel"], decoder["dec_project"]["kernel"])
    inputs = run.eval_inputs(4)
    image = run.game.generate(state, inputs)
    assert image.shape == (4, 16, 16, 1)
    # Linear output, as the decoder's (no tanh): the same layers applied to z.
    out = steps.apply(state, "g", inputs["z"])
    np.testing.assert_allclose(image, out)
    dcgan = runs.build_run(tiny_config(**{"game.generator": "dcgan"}))
    assert "project" in dcgan.init_state(jax.random.key(0)).nets["g"].params


# --- k_t through the loop -------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_run_end_to_end_reports_k_and_m_global(tmp_path):
    cfg = tiny_config(3, **{"game.lambda_k": 0.05})
    state = train.train_and_evaluate(cfg, tmp_path)
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["step"] == 3
    assert record["headline/k"] == pytest.approx(float(state.aux["k"]))
    assert 0.0 < record["headline/k"] <= 1.0
    real, fake = record["headline/real_loss"], record["headline/fake_loss"]
    assert record["headline/m_global"] == pytest.approx(real + abs(0.5 * real - fake), rel=1e-5)
    assert record["headline/ratio"] == pytest.approx(fake / real, rel=1e-5)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("g/m_global" in r for r in lines)


def test_k_is_checkpointed_and_resume_is_bit_identical(tmp_path, capsys):
    cfg = tiny_config(6, **{"game.lambda_k": 0.05})
    cfg.checkpoint.every_steps = 3
    straight = train.train_and_evaluate(cfg, tmp_path)
    restored = checkpointing.load(
        tmp_path, lambda saved: runs.build_run(cfg).abstract_state(), step=3
    )
    assert 0.0 < float(restored.state.aux["k"]) < float(straight.aux["k"])  # k grew from 0
    shutil.rmtree(checkpointing.checkpoint_dir(tmp_path) / "6")
    capsys.readouterr()
    resumed = train.train_and_evaluate(cfg, tmp_path)
    assert "resuming from the checkpoint at step 3" in capsys.readouterr().out
    assert float(resumed.aux["k"]) == float(straight.aux["k"])
    assert float(resumed.aux["real_loss"]) == float(straight.aux["real_loss"])
    for x, y in zip(leaves(straight), leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)


def test_torch_check_scores_its_samples_with_the_trainers_evaluator(tmp_path, digits_classifier):
    """experiments/began_torch_check.py: ``export`` writes the digits as NCHW for torch, and
    ``evaluate`` scores saved samples (NHWC) by the trainer's evaluator: the real digits score
    FD ~0 over all ten classes, one repeated digit a large FD and one class."""
    from experiments import began_torch_check as check

    check.export(tmp_path / "digits.npy")
    nchw = np.load(tmp_path / "digits.npy")
    real, _ = data.digits_arrays(16)
    np.testing.assert_array_equal(nchw.transpose(0, 2, 3, 1), real)
    np.savez(
        tmp_path / "run.npz",
        **{"500": real, "k_500": np.float32(0.1), "1000": np.repeat(real[:1], 1797, axis=0)},
        k_1000=np.float32(0.0),
    )
    rows = check.evaluate([tmp_path / "run.npz"])
    assert [r["step"] for r in rows] == [500, 1000]
    assert rows[0]["frechet_distance"] < 1.0 and rows[0]["classes"] == 10
    assert rows[0]["k"] == pytest.approx(0.1)
    assert rows[1]["frechet_distance"] > 100.0 and rows[1]["classes"] == 1


def test_torch_check_exports_mnist5k_at_32x32(tmp_path):
    """``export --dataset=mnist5k``: the 5000 MNIST digits at 32x32, NCHW (PyTorch-GAN's
    BEGAN setting; ``train`` reads the side from the array)."""
    from experiments import began_torch_check as check

    check.export(tmp_path / "mnist5k.npy", "mnist5k")
    nchw = np.load(tmp_path / "mnist5k.npy")
    real, _ = data.mnist5k_arrays(32)
    assert nchw.shape == (5000, 1, 32, 32)
    np.testing.assert_array_equal(nchw.transpose(0, 2, 3, 1), real)

import pytest
import torch
from conftest import randomize
from minigpt import KVCache, MiniGPT, ModelConfig

CONFIGS = {
    "mha": dict(num_heads=4, num_kv_heads=4),
    "gqa": dict(num_heads=4, num_kv_heads=2),
    "mqa-bias-untied": dict(num_heads=4, num_kv_heads=1, qkv_bias=True, tie_word_embeddings=False),
}


def make(name="gqa", **overrides):
    config = ModelConfig.from_preset("tiny", **{**CONFIGS[name], **overrides})
    return randomize(MiniGPT(config)).eval()


@pytest.mark.parametrize("name", CONFIGS)
def test_explicit_attention_equals_sdpa(name):
    model = make(name)
    ids = torch.randint(0, 256, (3, 40))
    mask = torch.ones(3, 40, dtype=torch.long)
    mask[1, :7] = 0  # left padding in one row
    with torch.no_grad():
        for kwargs in ({}, {"attention_mask": mask}):
            fast = model(ids, **kwargs)
            slow = model(ids, output_attentions=True, **kwargs)
            torch.testing.assert_close(fast.logits, slow.logits, atol=1e-5, rtol=0)
    assert len(slow.attentions) == model.config.num_layers
    weights = slow.attentions[0]
    assert weights.shape == (3, 4, 40, 40)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 40))
    assert weights[0].triu(1).abs().max() == 0  # causal: nothing above the diagonal
    assert weights[1, :, 10:, :7].abs().max() == 0  # real tokens never look at padding


def test_attention_matches_a_naive_reference():
    """One layer's attention recomputed by hand with loops over heads, from the weights."""
    model = make("gqa")
    attn = model.model.layers[0].self_attn
    x = torch.randn(1, 9, 64)
    cos, sin = model.model.rotary_emb(x, torch.arange(9)[None])
    with torch.no_grad():
        out, _ = attn(x, cos, sin)
        q = (x @ attn.q_proj.weight.T).view(9, 4, 16)
        k = (x @ attn.k_proj.weight.T).view(9, 2, 16)
        v = (x @ attn.v_proj.weight.T).view(9, 2, 16)
        heads = []
        for h in range(4):
            qh, kh, vh = _rope_pairs(q[:, h]), _rope_pairs(k[:, h // 2]), v[:, h // 2]
            scores = qh @ kh.T / 4.0
            scores = scores.masked_fill(torch.ones(9, 9).triu(1).bool(), float("-inf"))
            heads.append(scores.softmax(-1) @ vh)
        expected = torch.cat(heads, dim=-1) @ attn.o_proj.weight.T
    torch.testing.assert_close(out[0], expected, atol=1e-5, rtol=0)


def _rope_pairs(x, theta=10000.0):
    """RoPE written as rotations of the pairs (i, i + d/2), position by position."""
    t, d = x.shape
    out = x.clone()
    for pos in range(t):
        for i in range(d // 2):
            angle = torch.tensor(pos * theta ** (-2 * i / d))
            a, b = x[pos, i], x[pos, i + d // 2]
            out[pos, i] = a * torch.cos(angle) - b * torch.sin(angle)
            out[pos, i + d // 2] = a * torch.sin(angle) + b * torch.cos(angle)
    return out


def test_future_tokens_do_not_change_past_logits():
    model = make()
    ids = torch.randint(0, 256, (1, 30))
    changed = ids.clone()
    changed[0, 20:] = (changed[0, 20:] + 1) % 256
    with torch.no_grad():
        a, b = model(ids).logits, model(changed).logits
    torch.testing.assert_close(a[:, :20], b[:, :20])
    assert (a[:, 20:] - b[:, 20:]).abs().max() > 1e-3


def test_loss_is_mean_cross_entropy_over_unmasked_targets():
    model = make()
    ids = torch.randint(0, 256, (2, 16))
    targets = torch.randint(0, 256, (2, 16))
    targets[0, :5] = -100
    out = model(ids, targets=targets)
    logits = out.logits.detach()
    keep = targets != -100
    manual = -(logits.log_softmax(-1).gather(-1, targets.clamp(min=0)[..., None])[..., 0])[keep].mean()
    torch.testing.assert_close(out.loss.detach(), manual)
    with pytest.raises(ValueError, match="logits_to_keep"):
        model(ids, targets=targets, logits_to_keep=1)


def test_labels_are_shifted_inside_like_hugging_face():
    # labels = the input ids: position t is scored against token t + 1 (a hand-made shift here)
    model = make()
    ids = torch.randint(0, 256, (2, 16))
    labels = ids.clone()
    labels[1, :4] = -100  # e.g. a prompt that takes no loss
    logp = model(ids).logits.detach()[:, :-1].log_softmax(-1)
    nxt = labels[:, 1:]
    keep = nxt != -100
    manual = -logp.gather(-1, nxt.clamp(min=0)[..., None])[..., 0][keep].mean()
    torch.testing.assert_close(model(ids, labels=labels).loss.detach(), manual)
    with pytest.raises(ValueError, match="not both"):
        model(ids, labels=labels, targets=labels)
    with pytest.raises(ValueError, match="one target per position"):
        model(ids, targets=labels[:, 1:])
    with pytest.raises(TypeError):
        model(ids, labels)  # keyword-only: a positional second argument cannot mean either by accident


@pytest.mark.parametrize("name", CONFIGS)
def test_cached_forward_equals_full_forward(name):
    model = make(name)
    ids = torch.randint(0, 256, (2, 50))
    cache = KVCache(model.config, batch_size=2, max_len=64)
    with torch.no_grad():
        full = model(ids).logits
        steps = [model(ids[:, :20], kv_cache=cache).logits]  # a prefill
        steps.append(model(ids[:, 20:30], kv_cache=cache).logits)  # a chunk
        steps += [model(ids[:, i : i + 1], kv_cache=cache).logits for i in range(30, 50)]  # decode
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=0)
    assert cache.length == 50
    # the cache holds only the K/V heads: GQA's saving is in the buffer's shape
    assert cache.k.shape == (2, 2, model.config.num_kv_heads, 64, 16)


def test_context_overflow_names_the_numbers():
    model = make()
    with pytest.raises(ValueError, match=r"129 tokens.*max_seq_len=128"):
        model(torch.zeros(1, 129, dtype=torch.long))
    cache = KVCache(model.config, batch_size=1)
    model(torch.zeros(1, 100, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ValueError, match=r"100 cached \+ 29 new"):
        model(torch.zeros(1, 29, dtype=torch.long), kv_cache=cache)


def test_bad_attention_mask_shape():
    model = make()
    with pytest.raises(ValueError, match="expected \\(1, 8\\)"):
        model(torch.zeros(1, 8, dtype=torch.long), attention_mask=torch.ones(1, 7))


def test_hugging_face_parameter_names():
    model = MiniGPT(ModelConfig.from_preset("tiny", qkv_bias=True, tie_word_embeddings=False))
    names = set(dict(model.named_parameters()))
    expected = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    for i in range(2):
        p = f"model.layers.{i}."
        expected |= {p + "input_layernorm.weight", p + "post_attention_layernorm.weight"}
        expected |= {p + f"self_attn.{m}_proj.{w}" for m in "qkv" for w in ("weight", "bias")}
        expected |= {p + "self_attn.o_proj.weight"}
        expected |= {p + f"mlp.{m}_proj.weight" for m in ("gate", "up", "down")}
    assert names == expected


def test_tied_head_is_one_tensor():
    model = MiniGPT(ModelConfig.from_preset("tiny"))
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert "lm_head.weight" not in dict(model.named_parameters())


def test_meta_device_lists_a_7b_model_without_memory():
    with torch.device("meta"):
        model = MiniGPT(ModelConfig.from_preset("llama-7b"))
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes["model.layers.31.mlp.gate_proj.weight"] == (11008, 4096)
    assert shapes["lm_head.weight"] == (32000, 4096)
    assert all(p.is_meta for p in model.parameters())


def test_bf16_autocast_and_bf16_weights_stay_close_to_fp32():
    model = make()
    ids = torch.randint(0, 256, (2, 24))
    with torch.no_grad():
        ref = model(ids).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            auto = model(ids).logits
        low = model.to(torch.bfloat16)(ids).logits
    assert auto.dtype == torch.bfloat16 and low.dtype == torch.bfloat16
    scale = ref.abs().max()
    assert (auto.float() - ref).abs().max() < 0.05 * scale
    assert (low.float() - ref).abs().max() < 0.05 * scale


def test_backward_reaches_every_parameter():
    model = make("mqa-bias-untied").train()
    ids = torch.randint(0, 256, (2, 12))
    model(ids, labels=ids).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_torch_compile_gives_the_same_logits():
    model = make()
    ids = torch.randint(0, 256, (2, 16))
    with torch.no_grad():
        expected = model(ids).logits
        compiled = torch.compile(model, backend="aot_eager")  # traces the graph without a C++ toolchain
        got = compiled(ids).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


# ---- each attention module knows its layer; calls go by keyword -------------------------------


def test_each_attention_writes_its_own_layer_of_the_cache():
    """The layer index belongs to the module (as in transformers' LlamaAttention): calling one
    layer's attention on its own fills that layer's slice of the cache and no other. Before, the
    index was a positional argument defaulting to 0, so a forgotten one wrote layer 0's keys."""
    model = make()
    assert [block.self_attn.layer_idx for block in model.model.layers] == list(range(model.config.num_layers))
    x = torch.randn(1, 5, model.config.hidden_size)
    cos, sin = model.model.rotary_emb(x, torch.arange(5)[None])
    cache = KVCache(model.config, batch_size=1, max_len=8)
    with torch.no_grad():
        model.model.layers[1].self_attn(x, cos, sin, kv_cache=cache)
    assert cache.k[0].abs().max() == 0 and cache.v[0].abs().max() == 0
    assert cache.k[1, :, :, :5].abs().min() > 0 and cache.k[1, :, :, 5:].abs().max() == 0
    with pytest.raises(TypeError):  # everything after x, cos, sin and the mask is keyword-only
        model.model.layers[1].self_attn(x, cos, sin, None, cache)


def test_rmsnorm_has_the_configs_default_eps():
    """One default: RMSNorm alone and every ModelConfig use the same eps (it was 1e-6 vs 1e-5)."""
    from minigpt.model import RMSNorm

    assert RMSNorm(8).eps == ModelConfig().norm_eps == 1e-5


def test_one_dimensional_ids_say_to_add_a_batch_dimension():
    model = make()
    with pytest.raises(ValueError, match=r"shape \(batch, seq_len\), got \(6,\): add a batch dimension: ids\[None\]"):
        model(torch.arange(6))
    with pytest.raises(ValueError, match="integer token ids"):
        model(torch.zeros(1, 6))
    with pytest.raises(TypeError, match=r"torch.tensor\(\[ids\]\)"):
        model([1, 2, 3])


def test_a_single_token_with_labels_says_why_there_is_no_loss():
    """labels= are shifted inside, so one token leaves nothing to predict: 0/0. transformers
    returns nan without a word; here it is an error that says why."""
    model = make()
    ids = torch.tensor([[5]])
    with pytest.raises(ValueError, match="single token has no next token to predict"):
        model(ids, labels=ids)
    with pytest.warns(UserWarning, match="mean loss is over no positions"):
        loss = model(torch.tensor([[5, 6]]), labels=torch.tensor([[5, -100]])).loss
    assert loss is not None and torch.isnan(loss)
    assert torch.isfinite(model(torch.tensor([[5, 6]]), labels=torch.tensor([[5, 6]])).loss)  # pyright: ignore[reportArgumentType]


def test_a_growing_cache_refuses_a_cache_position_it_does_not_write():
    """A growing cache writes after what it holds; a cache_position naming other slots would give
    the keys one place and the rotary angles and the mask another: an error, not a silent mix."""
    model = make()
    cache = KVCache(model.config, batch_size=1, max_len=16)
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        model(ids, kv_cache=cache, cache_position=torch.arange(3))  # the slots it writes: fine
        with pytest.raises(ValueError, match=r"cache_position \[5\] does not name the slots .* \(3\.\.3\)"):
            model(ids[:, :1], kv_cache=cache, cache_position=torch.tensor([5]))
    assert cache.length == 3


# ---- the decode layout: weights stored column by column, q/k/v and gate/up side by side ------


def laid_out(name="mqa-bias-untied"):
    from minigpt.decode_layout import lay_out_for_decoding

    model = make(name)
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.inference_mode():  # as generate runs it: the new storage must still be trainable
        lay_out_for_decoding(model)
    return model, reference


@pytest.mark.parametrize("name", ["gqa", "mqa-bias-untied"])
def test_decode_layout_keeps_names_values_and_logits(name):
    model, reference = laid_out(name)
    state = model.state_dict()
    assert list(state) == list(reference)
    for key, value in reference.items():
        assert state[key].shape == value.shape and torch.equal(state[key], value), key
    attn = model.model.layers[0].self_attn
    q, k, v = attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight
    rows = q.shape[0] + k.shape[0] + v.shape[0]
    assert q.stride() == k.stride() == v.stride() == (1, rows)  # columns of one (in, q + k + v) matrix
    assert k.data_ptr() == q.data_ptr() + q.shape[0] * q.element_size()
    head = model.lm_head.weight
    assert head.stride() == (1, head.shape[0])  # the largest product of a step, tied or not
    if model.config.tie_word_embeddings:
        assert model.model.embed_tokens.weight is head
    ids = torch.randint(0, 256, (2, 12))
    fresh = make(name)
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, fresh(ids).logits, atol=1e-5, rtol=0)


def test_decode_layout_is_done_once():
    from minigpt.decode_layout import lay_out_for_decoding

    model, _ = laid_out()
    pointers = [p.data_ptr() for p in model.parameters()]
    joined = [m.joined for m in model.modules() if hasattr(m, "joined")]
    lay_out_for_decoding(model)
    assert [p.data_ptr() for p in model.parameters()] == pointers
    # The same Joined objects: torch.compile 2.6-2.8 guards on them and recompiled when replaced.
    again = [m.joined for m in model.modules() if hasattr(m, "joined")]
    assert len(joined) == 4 and all(a is b and a is not None for a, b in zip(joined, again, strict=True))


def test_one_product_for_side_by_side_weights_equals_three():
    """After the layout, a no-grad call makes one product of q/k/v (and of gate/up); the parts equal
    each layer's own product (F.linear with its weight and bias, an independent computation)."""
    import torch.nn.functional as F
    from minigpt.decode_layout import projections

    model, _ = laid_out()
    attn, mlp = model.model.layers[0].self_attn, model.model.layers[0].mlp
    x = torch.randn(2, 3, model.config.hidden_size)
    with torch.no_grad():
        fresh = make("mqa-bias-untied").model.layers[0].self_attn
        for module, products in ((fresh, 3), (attn, 1)):  # the products actually made
            calls = []
            with _Count(calls):
                joined = projections(x, module.q_proj, module.k_proj, module.v_proj, joined=module.joined)
            assert len(calls) == products
        for layer, part in zip((attn.q_proj, attn.k_proj, attn.v_proj), joined, strict=True):
            torch.testing.assert_close(part, F.linear(x, layer.weight.contiguous(), layer.bias), atol=1e-6, rtol=0)
        gate, up = projections(x, mlp.gate_proj, mlp.up_proj, joined=mlp.joined)
        torch.testing.assert_close(gate, x @ mlp.gate_proj.weight.T, atol=1e-6, rtol=0)
        torch.testing.assert_close(up, x @ mlp.up_proj.weight.T, atol=1e-6, rtol=0)


class _Count(torch.overrides.TorchFunctionMode):
    """Notes every F.linear called inside it."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.nn.functional.linear:
            self.calls.append(func)
        return func(*args, **(kwargs or {}))


def test_decode_layout_still_trains_and_hooks_still_fire():
    """With gradients, each layer computes its own product, so every parameter gets its gradient;
    a hook on q_proj sees its call even when the weights are side by side."""
    model, _ = laid_out()
    model.train()
    ids = torch.randint(0, 256, (2, 12))
    model(ids, labels=ids).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    torch.optim.AdamW(model.parameters(), lr=1e-3).step()  # updates the views in place
    seen = []
    model.model.layers[0].self_attn.q_proj.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.no_grad():
        model.eval()(ids)
    assert seen == [(2, 12, model.config.num_heads * model.config.head_dim)]


def test_a_laid_out_model_saves_a_folder_transformers_reads(tmp_path):
    transformers = pytest.importorskip("transformers")
    model, _ = laid_out("gqa")
    model.save_pretrained(tmp_path)
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    ids = torch.randint(0, 256, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, theirs(ids).logits, atol=1e-5, rtol=0)


def test_a_moved_or_reloaded_layer_leaves_the_joined_product():
    """The joined product reads the blocks the layers had; once a layer holds other memory (a dtype
    round trip, a reload with assign=True), each layer computes its own product again: the logits
    follow the new weights, not the old blocks."""
    model, _ = laid_out("gqa")
    ids = torch.randint(0, 256, (1, 8))
    attn = model.model.layers[0].self_attn
    with torch.no_grad():
        attn.k_proj.weight.data = attn.k_proj.weight.data * 2  # other memory, other values
        fresh = make("gqa")
        fresh.model.layers[0].self_attn.k_proj.weight.mul_(2)
        torch.testing.assert_close(model(ids).logits, fresh(ids).logits, atol=1e-5, rtol=0)
        assert attn.joined is not None and attn.joined.product is None  # the old blocks let go
        model.double().float()
        torch.testing.assert_close(model(ids).logits, fresh(ids).logits, atol=1e-5, rtol=0)

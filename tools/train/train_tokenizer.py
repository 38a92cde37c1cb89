"""Trains the byte-level BPE tokenizer (vocab 4096, <|endoftext|> = id 0) on the TRAIN split only,
then encodes the train split to tools/data/train.u16 (documents separated by <|endoftext|>).

Needs the Python `tokenizers` 0.23.2 wheel:  pip install --no-deps --target tools/train/.venv-tok tokenizers==0.23.2
Run:  PYTHONPATH=tools/train/.venv-tok /usr/bin/python3 tools/train/train_tokenizer.py
"""
import glob, os, sys
import numpy as np
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "tools", "data")
VOCAB = 4096


def main():
    files = sorted(glob.glob(os.path.join(DATA, "train", "*.txt")))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train(files, trainer)
    assert tok.token_to_id("<|endoftext|>") == 0 and tok.get_vocab_size() == VOCAB
    out = os.path.join(DATA, "tokenizer.json")
    tok.save(out)
    # encode train split
    ids = []
    texts = [open(f, encoding="utf-8").read() for f in files]
    for i in range(0, len(texts), 64):
        for e in tok.encode_batch(texts[i:i + 64]):
            ids.extend(e.ids)
            ids.append(0)
    arr = np.array(ids, dtype=np.uint16)
    arr.tofile(os.path.join(DATA, "train.u16"))
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    print(f"train tokens {len(arr)}  bytes {nbytes}  bytes/token {nbytes/len(arr):.3f}")
    # round trip check
    for t in texts[:50]:
        assert tok.decode(tok.encode(t).ids) == t


if __name__ == "__main__":
    main()

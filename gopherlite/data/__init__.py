"""Data: the embedded corpus and user files (`corpus`), SentencePiece (`tokenizer`), packed
windows and the resumable batch order (`batches`). Gopher's MassiveText filters arrive here
too (G Sec. 3.4, App. A).
"""

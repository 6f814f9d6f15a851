"""Sealed bids' encryption and the opening ceremony (开标解密): the tender's opening key, made at
publication and split between the platform and the buyer's officers; the officers' contributions at
the opening; the decryption of every sealed version, and what becomes of a bid that does not decrypt
(电子招标投标办法 arts. 27, 30-31; docs/bidding.md)."""

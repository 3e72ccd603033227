"""End-to-end tests: the whole service, in process or as its CLI / supervisord process, against the exchange
simulator. Unit tests of a module live in the file that mirrors its path under tradeactors/."""

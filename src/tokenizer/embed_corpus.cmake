# cmake -DIN=corpus.txt -DOUT=tok_corpus_data.c -P embed_corpus.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR nbytes "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n" body "${body}")
file(WRITE ${OUT} "/* Generated from src/tokenizer/corpus.txt by embed_corpus.cmake. Do not edit. */\n"
  "#include <stddef.h>\n"
  "extern const char vk_tok_corpus_text[];\n"
  "extern const size_t vk_tok_corpus_len;\n"
  "const char vk_tok_corpus_text[] = {\n${body}0x00};\n"
  "const size_t vk_tok_corpus_len = ${nbytes};\n")

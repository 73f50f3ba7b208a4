# Sourced by the IMDB shell tests: write_tiny_imdb DIR writes DIR/aclImdb in the original layout,
# 6 positive and 6 negative reviews per split (12 training, 12 test).
write_tiny_imdb() {
  local data="$1" split label i text rating
  for split in train test; do
    for label in pos neg; do
      mkdir -p "$data/aclImdb/$split/$label"
      for i in 0 1 2 3 4 5; do
        if [ "$label" = pos ]; then text="A great film, I loved it.<br />Great acting $i"; rating=9; else text="Awful and boring film, I hated it $i"; rating=2; fi
        printf "%s" "$text" > "$data/aclImdb/$split/$label/${i}_${rating}.txt"
      done
    done
  done
}

// Named arguments for layer options, as libtorch does: LstmOptions(20).return_sequences(true).
#ifndef LAYERS_OPTIONS_H_
#define LAYERS_OPTIONS_H_

// Declares a field `name_` with a chainable setter `name(value)` and a getter `name()`.
#define LAYERS_ARG(T, name, default_value)  \
 public:                                    \
  auto& name(const T& value) {              \
    name##_ = value;                        \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 private:                                   \
  T name##_ = default_value

#endif  // LAYERS_OPTIONS_H_

// The shape every randomized model test shares (host drivers, in-kernel and user tests): a table
// of operations, each entry a name, a weight (its share of the random choices) and a function that
// decodes its operands, applies the operation to the real structure and to the reference model,
// and checks the status against the model's prediction. The driver loop picks an entry per step
// with MODEL_OP_PICK and runs the model's whole-state checker after it.
//
// A table's weights, in table order, say which random values select which operation: keep both to
// keep what a seed (or a checked-in fuzz corpus input) exercises. Header only (GNU C statement
// expressions, as the kernel already uses).
#ifndef TEST_MODEL_OP_H
#define TEST_MODEL_OP_H

// The sum of the weights of `ops` (an array of structs with an `unsigned weight` member).
#define MODEL_OP_TOTAL(ops)                                                       \
    __extension__({                                                               \
        unsigned total_ = 0;                                                      \
        for (unsigned k_ = 0; k_ < sizeof(ops) / sizeof((ops)[0]); k_++)          \
            total_ += (ops)[k_].weight;                                           \
        total_;                                                                   \
    })

// A pointer to the entry of `ops` that the random number `r` selects: r modulo the weights' sum,
// laid over the entries' weights in table order (entry 0 takes [0, w0), entry 1 [w0, w0 + w1)...).
#define MODEL_OP_PICK(ops, r)                                                     \
    __extension__({                                                               \
        unsigned x_ = (unsigned)((r) % MODEL_OP_TOTAL(ops)), i_ = 0;              \
        while (x_ >= (ops)[i_].weight)                                            \
            x_ -= (ops)[i_++].weight;                                             \
        &(ops)[i_];                                                               \
    })

#endif  // TEST_MODEL_OP_H

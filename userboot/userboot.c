// userboot: the first user process (placeholder until the process layer lands).
int main(int argc, char **argv);
int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return 0;
}

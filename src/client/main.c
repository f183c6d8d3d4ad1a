/* placeholder until the CLI client lands */
int main(void) { return 1; }

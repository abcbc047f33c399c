/* Included by bindgen (clang) before every mlx-c header on non-ARM hosts so
 * the float16/bfloat16 declarations match the types mlx-rs expects:
 * float16_t becomes bindgen's __BindgenFloat16 and bfloat16_t an unsigned
 * short, as in the published mlx-sys bindings. */
#if !defined(__aarch64__)
#define HAS_FLOAT16
#define HAS_BFLOAT16
typedef __fp16 float16_t;
typedef unsigned short bfloat16_t;
#endif
